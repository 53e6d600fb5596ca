"""The substitution report: the figures `oilflows report` prints, as text, Markdown and HTML with PNGs."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .analytics import (
    SharesResult,
    SubstitutionBounds,
    SubstitutionResult,
    substitution,
    substitution_bounds,
    supplier_shares,
)
from .analytics.bounds import statistical_totals
from .analytics.concentration import window_concentration
from .analytics.counterfactual import CounterfactualResult, counterfactual, counterfactual_on_panel
from .analytics.formatting import UNDISCLOSED, display, fmt, pct
from .analytics.mass_balance import MassBalanceResult, exporter_balance
from .analytics.quality import window_slate
from .analytics.relabelling import RelabellingResult, relabelling_signals
from .analytics.route_exposure import RouteExposureResult, route_exposure
from .analytics.shares import shares_on_panel
from .errors import AnalysisError


@dataclass
class Report:
    """A substitution result, the reporter's supplier shares over time, and before/after context:
    supplier concentration (HHI, effective number of suppliers) and the crude slate's quality
    (volume-weighted API gravity, mass-weighted sulphur) in the baseline and post windows."""

    substitution: SubstitutionResult
    shares: SharesResult
    data_note: str
    context: pd.DataFrame | None = None
    counterfactual: CounterfactualResult | None = None
    counterfactual_error: str | None = None
    #: (label, joint bounds): grade detail alone, then with each further kind of source.
    bounds: list[tuple[str, SubstitutionBounds]] = field(default_factory=list)
    #: Published figures after the post window (kept apart from the statistical series).
    since: pd.DataFrame | None = None
    #: The substitute's crude by route over the post window, and the relabelling signals.
    routes: RouteExposureResult | None = None
    routes_detail: RouteExposureResult | None = None
    signals: RelabellingResult | None = None
    balance: MassBalanceResult | None = None
    infrastructure_error: str | None = None

    def infrastructure_lines(self) -> list[str]:
        """The substitute's dependence on Russian infrastructure and the relabelling signals, in words."""
        s = self.substitution
        if self.routes is None:
            return [f"{s.substitute} and Russian infrastructure: not available ({self.infrastructure_error})"]
        r = self.routes
        unit, div = display(s.measure)
        lo, hi, disclosed = r.total
        parts = []
        for row in r.table.itertuples(index=False):
            span = (fmt(row.lower, div) if row.lower == row.upper
                    else f"{fmt(row.lower, div)} .. {fmt(row.upper, div)}")
            parts.append(f"{row.route} {span}")
        lines = [
            f"Between {pct(r.russian_share[0])} and {pct(r.russian_share[1])} of the {s.substitute} crude "
            f"{s.reporter} imported in {r.start:%Y-%m}..{r.end:%Y-%m} ({fmt(lo, div)} .. {fmt(hi, div)} "
            f"{unit}) depends on Russian ports or pipelines; on disclosed cells alone "
            f"{pct(r.russian_share_disclosed)}. By route ({unit}): {'; '.join(parts)}.",
        ]
        d = self.routes_detail
        if d is not None and d is not r:
            lines[0] += (f" (With partner totals and published figures; from the grade detail alone: "
                         f"{pct(d.russian_share[0])} to {pct(d.russian_share[1])}.)")
        if r.note:
            lines.append(f"({r.note})")
        if self.signals is not None:
            lines.append(f"Could {s.displaced} crude arrive labelled {s.substitute}? Each signal shows a "
                         "pattern relabelling would produce, never proof:")
            for sig in self.signals.signals:
                state = {True: "signal", False: "ruled out", None: "undetermined"}[sig.flag]
                lines.append(f"- {sig.name} ({state}): {sig.finding.rstrip('.')}. "
                             f"Cannot show: {sig.cannot_show}.")
        if self.balance is not None:
            lines.append(self._balance_line())
        return lines

    def _balance_line(self) -> str:
        assert self.balance is not None  # called only for a report with a balance
        t = self.balance.to_frame()
        both = t.dropna(subset=["gap_lower"])
        s = self.substitution
        if both.empty:
            return (f"- exporter_balance (undetermined): no year has both importers' reports and "
                    f"{s.substitute}'s published total exports. Cannot show: imports by buyers outside "
                    "the data, timing, stock changes.")
        flagged = both[both["flag"].astype(bool)]
        years = ", ".join(
            f"{r.year}: importers {r.reported_imports_lower / 1e3:,.0f}-"
            f"{r.reported_imports_upper / 1e3:,.0f} kt against exports {r.exports_lower / 1e3:,.0f}-"
            f"{r.exports_upper / 1e3:,.0f} kt" for r in both.itertuples(index=False))
        state = "signal" if not flagged.empty else "no flag"
        return (f"- exporter_balance ({state}): {years}"
                + (f"; importers report more than {s.substitute} shipped in "
                   f"{', '.join(str(y) for y in flagged['year'])}" if not flagged.empty else "")
                + ". Cannot show: relabelled crude smaller than the imports of buyers outside the data "
                  "(a negative gap shows nothing), nor timing and stock changes.")

    def headline(self) -> list[str]:
        """The answer first: the identified coverage interval(s), then the disclosed-cells figure."""
        s = self.substitution
        if not self.bounds:
            return [f"{s.substitute} crude covered {pct(s.coverage)} of {s.displaced}'s shortfall "
                    "(disclosed grades only; no bounds available)."]
        (label0, first), *more = self.bounds
        lo, hi = first.coverage
        amount = f"exactly {pct(lo)}" if lo == hi else f"between {pct(lo)} and {pct(hi)}"
        text = (f"{s.substitute} crude covered {amount} of the shortfall of crude from {s.displaced} "
                f"(identified from the {s.dataset} grade detail alone)")
        previous = first.coverage
        for label, b in more:
            text += (f"; the same {label}" if b.coverage == previous
                     else f"; {pct(b.coverage[0])} to {pct(b.coverage[1])} {label}")
            previous = b.coverage
        text += f"; the disclosed grades alone give {pct(s.coverage)}."
        lines = [text]
        notes = [b.note for _, b in self.bounds if b.note]
        if notes:
            lines.append(f"({notes[0]})")
        lines.append("Each interval holds for every split of the confidential volume that fits the "
                     "accounting identity (WORLD = sum of all grade cells) and the totals named; it is "
                     "as narrow as those data allow, no narrower.")
        return lines

    def bounds_rows(self) -> tuple[list[str], list[list[str]]]:
        """The bounds table: one row per variant (gain, shortfall: monthly means; coverage)."""
        s = self.substitution
        unit, div = display(s.measure)
        header = ["data used", f"{s.substitute} gain ({unit}/month)",
                  f"{s.displaced} shortfall ({unit}/month)", "coverage"]
        rows = [[f"disclosed grades only ({s.dataset})", fmt(s.gain, div), fmt(s.shortfall, div),
                 pct(s.coverage)]]
        for label, b in self.bounds:
            rows.append([label, f"{fmt(b.gain[0], div)} .. {fmt(b.gain[1], div)}",
                         f"{fmt(b.shortfall[0], div)} .. {fmt(b.shortfall[1], div)}",
                         f"{pct(b.coverage[0])} .. {pct(b.coverage[1])}"])
        return header, rows

    def since_lines(self) -> list[str]:
        """Published figures after the post window, each with publisher and date."""
        if self.since is None or self.since.empty:
            return []
        return [f"{r.period} {r.what}: {r.figure} ({r.publisher}, {r.published})"
                for r in self.since.itertuples(index=False)]

    def refresh_lines(self) -> list[str]:
        s = self.substitution
        return [f"`oilflows refresh` adds Eurostat nrg_ti_oilm (monthly tonnes by partner, to the latest "
                f"month), Comext CN 2709 (monthly, by partner) and Destatis GENESIS 51000-0017 (monthly, by "
                f"country) to a store; `oilflows report --store PATH` then uses them as partner totals, "
                f"which bound {s.substitute}'s and {s.displaced}'s confidential cells month by month "
                "and carry the series past the embedded data's end."]

    def counterfactual_lines(self) -> list[str]:
        """The counterfactual in three lines (or why it could not be computed)."""
        s = self.substitution
        if self.counterfactual is None:
            return [f"Counterfactual: not available ({self.counterfactual_error})"]
        c = self.counterfactual
        unit, div = display(s.measure)
        lo, hi = c.cumulative_interval
        clo, chi = c.coverage_interval
        level = f"{1 - c.alpha:.0%}"
        return [
            f"Counterfactual ({c.spec}, fitted {c.pre[0]:%Y-%m}..{c.pre[1]:%Y-%m}): {s.substitute}'s "
            f"imports over {c.post[0]:%Y-%m}..{c.post[1]:%Y-%m} exceed its forecast by "
            f"{c.cumulative_excess / div:,.0f} {unit} ({level} interval {lo / div:,.0f} .. {hi / div:,.0f})",
            f"coverage of {s.displaced}'s shortfall against its own counterfactual: "
            f"{c.coverage:.1%} ({level} interval {clo:.1%} .. {chi:.1%})",
        ]

    def text(self) -> str:
        """The console report."""
        header, rows = self.bounds_rows()
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        table = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
        parts = [*self.headline(), "", *table, ""]
        if self.since_lines():
            parts += [f"Since {self.substitution.post[1]:%Y} (published figures, not statistics of the "
                      "same kind; kept apart):"] + [f"- {line}" for line in self.since_lines()] + [""]
        parts += self.refresh_lines() + [""]
        parts += [f"{self.substitution.substitute} and Russian infrastructure:",
                  *self.infrastructure_lines(), ""]
        parts += [self.substitution.summary(), ""]
        parts += self.counterfactual_lines() + [""]
        if self.context is not None and not self.context.empty:
            parts += ["Before and after (window totals):", _context_text(self.context), ""]
        parts += [self.shares.summary(), "", f"Data: {self.data_note}"]
        return "\n".join(parts)

    def _title(self) -> str:
        s = self.substitution
        return (f"How far did {s.substitute} replace {s.displaced} in {s.reporter}'s crude imports? "
                f"({s.baseline[0]:%Y-%m}..{s.baseline[1]:%Y-%m} vs {s.post[0]:%Y-%m}..{s.post[1]:%Y-%m})")

    def _headline(self) -> list[tuple[str, str]]:
        s = self.substitution
        unit, div = display(s.measure)
        table = s.replacement
        return [
            ("data", f"{s.source}/{s.dataset}, measure {s.measure}, shown in {unit}"),
            (f"{s.displaced} shortfall (monthly mean)", f"{s.shortfall / div:,.0f}"),
            (f"{s.displaced} over the windows", f"{table.loc[s.displaced, 'baseline_total'] / div:,.0f}"
             f" -> {table.loc[s.displaced, 'post_total'] / div:,.0f}"),
            (f"{s.substitute} gain (monthly mean)", f"{s.gain / div:,.0f}"),
            (f"{s.substitute} over the windows", f"{table.loc[s.substitute, 'baseline_total'] / div:,.0f}"
             f" -> {table.loc[s.substitute, 'post_total'] / div:,.0f}"),
            ("coverage", "n/a" if pd.isna(s.coverage) else f"{s.coverage:.1%}"),
            ("undisclosed share of WORLD", f"baseline {s.undisclosed_share['baseline']:.1%}, "
             f"post {s.undisclosed_share['post']:.1%}"),
        ]

    def _replacement_rows(self) -> tuple[list[str], list[list[str]]]:
        s = self.substitution
        _, div = display(s.measure)
        header = ["partner", "baseline mean", "post mean", "change", "share of shortfall",
                  "confidential cells (post)"]
        rows = []
        for partner, r in s.top_replacements(12).iterrows():
            share = "" if pd.isna(r["share_of_shortfall"]) else f"{r['share_of_shortfall']:.1%}"
            rows.append([str(partner), f"{r['baseline_mean'] / div:,.0f}", f"{r['post_mean'] / div:,.0f}",
                         f"{r['change'] / div:,.0f}", share, str(int(r["confidential_post"]))])
        return header, rows

    def markdown(self, figures: dict[str, str] | None = None) -> str:
        """The report as Markdown; `figures` maps figure names to relative PNG paths."""
        s = self.substitution
        header, rows = self._replacement_rows()
        lines = [f"# {self._title()}", ""] + [" ".join(self.headline()), ""]
        b_header, b_rows = self.bounds_rows()
        lines += ["| " + " | ".join(b_header) + " |", "|" + "---|" * len(b_header)]
        lines += ["| " + " | ".join(r) + " |" for r in b_rows] + [""]
        if self.since_lines():
            lines += [f"## Since {s.post[1]:%Y}: published figures", "",
                      "Figures published by statistical offices and companies, kept apart from the "
                      "statistical series (different definitions, rounding, provisional):", ""]
            lines += [f"- {line}" for line in self.since_lines()] + [""]
        lines += [f"_{self.refresh_lines()[0]}_", ""]
        lines += [f"## {s.substitute} and Russian infrastructure", ""]
        lines += [line if line.startswith("- ") else line for line in self.infrastructure_lines()] + [""]
        lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in self._headline()]
        lines += ["", f"## Who replaced {s.displaced}", "",
                  "Monthly means; `undisclosed` is WORLD minus the disclosed partners; the WORLD "
                  "row's share is the part of the shortfall met by lower total imports.", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += ["", "## Counterfactual", ""] + [f"- {line}" for line in self.counterfactual_lines()]
        if self.context is not None and not self.context.empty:
            lines += ["", "## Before and after", "", "| measure | baseline | post | note |",
                      "|---|---|---|---|"]
            lines += [f"| {r.measure} | {r.baseline} | {r.post} | {r.note} |"
                      for r in self.context.itertuples(index=False)]
        for name, path in (figures or {}).items():
            lines += ["", f"![{name}]({path})"]
        lines += ["", "## Caveats", ""] + [f"- {c}" for c in s.caveats]
        lines += ["", "## Data", "", self.data_note, ""]
        return "\n".join(lines)

    def html(self, figures: dict[str, str] | None = None) -> str:
        """The report as an HTML page; `figures` maps figure names to image sources (relative PNG paths,
        or ``data:`` URIs as :meth:`write` passes them, which make the page self-contained)."""
        s = self.substitution
        esc = html.escape
        header, rows = self._replacement_rows()
        head = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self._headline())
        table = ("<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header)
                 + "</tr></thead><tbody>"
                 + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in rows)
                 + "</tbody></table>")
        images = "".join(f'<figure><img src="{esc(p)}" alt="{esc(n)}"><figcaption>{esc(n)}'
                         f"</figcaption></figure>" for n, p in (figures or {}).items())
        caveats = "".join(f"<li>{esc(c)}</li>" for c in s.caveats)
        b_header, b_rows = self.bounds_rows()
        lead = (f"<p><strong>{esc(self.headline()[0])}</strong> {esc(' '.join(self.headline()[1:]))}</p>"
                "<table><thead><tr>" + "".join(f"<th>{esc(h)}</th>" for h in b_header)
                + "</tr></thead><tbody>"
                + "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in b_rows)
                + "</tbody></table>")
        if self.since_lines():
            lead += (f"<h2>Since {s.post[1]:%Y}: published figures</h2><p>Kept apart from the statistical "
                     "series.</p><ul>" + "".join(f"<li>{esc(x)}</li>" for x in self.since_lines()) + "</ul>")
        lead += f"<p><em>{esc(self.refresh_lines()[0])}</em></p>"
        infra = self.infrastructure_lines()
        lead += (f"<h2>{esc(s.substitute)} and Russian infrastructure</h2>"
                 + "".join(f"<p>{esc(x)}</p>" for x in infra if not x.startswith("- "))
                 + "<ul>" + "".join(f"<li>{esc(x[2:])}</li>" for x in infra if x.startswith("- "))
                 + "</ul>")
        context = ("<h2>Counterfactual</h2><ul>"
                   + "".join(f"<li>{esc(line)}</li>" for line in self.counterfactual_lines()) + "</ul>")
        if self.context is not None and not self.context.empty:
            context += ("<h2>Before and after</h2><table><thead><tr><th>measure</th><th>baseline</th>"
                       "<th>post</th><th>note</th></tr></thead><tbody>"
                       + "".join(f"<tr><td>{esc(r.measure)}</td><td>{esc(r.baseline)}</td><td>"
                                 f"{esc(r.post)}</td><td>{esc(r.note)}</td></tr>"
                                 for r in self.context.itertuples(index=False))
                       + "</tbody></table>")
        style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
                 "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
                 "padding:.25em .6em;text-align:right}th{background:#f4f4f4}img{max-width:100%}")
        return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(self._title())}</title><style>{style}</style></head><body>"
                f"<h1>{esc(self._title())}</h1>{lead}<table>{head}</table>"
                f"<h2>Who replaced {esc(s.displaced)}</h2><p>Monthly means; <code>{UNDISCLOSED}</code> "
                f"is WORLD minus the disclosed partners.</p>{table}{context}{images}"
                f"<h2>Caveats</h2><ul>{caveats}</ul><h2>Data</h2><p>{esc(self.data_note)}</p>"
                f"</body></html>\n")

    def write(self, directory: str | Path, figures: bool | None = None) -> dict[str, Path]:
        """Write report.md, report.html and the figures shares.png and replacement.png into `directory`
        (created if missing). report.html is self-contained: the figures are embedded as data URIs.

        `figures`: None (default) draws them if matplotlib is installed and otherwise writes the
        Markdown and HTML without them; True requires matplotlib (ImportError without it); False skips
        them. Returns the paths written by kind (``markdown``, ``html``, and ``shares`` and
        ``replacement`` only if the figures were drawn). Raises NotADirectoryError if `directory` is
        an existing file.
        """
        import base64
        import errno

        out = Path(directory)
        if out.exists() and not out.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(out))
        axes = []
        if figures or figures is None:
            try:
                # The two partners the report is about: with every confidential month drawn as a band,
                # more partners make the figure unreadable (the shares table has them all). Each
                # result draws itself (ImportError without matplotlib).
                axes.append(self.shares.plot(
                    partners=[self.substitution.displaced, self.substitution.substitute]))
                axes.append(self.substitution.plot())
            except ImportError:
                if figures:
                    raise
        out.mkdir(parents=True, exist_ok=True)
        paths = {"markdown": out / "report.md", "html": out / "report.html"}
        drawn: dict[str, str] = {}
        if len(axes) == 2:
            import matplotlib.pyplot as plt  # importable: the results have just drawn with it
            from matplotlib.figure import Figure

            for ax, file in zip(axes, ["shares.png", "replacement.png"], strict=True):
                figure = ax.figure
                assert isinstance(figure, Figure)  # each result draws on a figure of its own
                figure.tight_layout()
                figure.savefig(out / file, dpi=110)
                plt.close(figure)
            drawn = {"shares over time": "shares.png", "replacement": "replacement.png"}
            paths |= {"shares": out / "shares.png", "replacement": out / "replacement.png"}
        embedded = {name: "data:image/png;base64," + base64.b64encode((out / file).read_bytes()).decode()
                    for name, file in drawn.items()}
        paths["markdown"].write_text(self.markdown(drawn), encoding="utf-8")
        paths["html"].write_text(self.html(embedded), encoding="utf-8")
        return paths


def build_report(
    frame: pd.DataFrame,
    reporter: str = "DE",
    displaced: str = "RU",
    substitute: str = "KZ",
    baseline: tuple[str, str] = ("2021-01", "2021-12"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    measure: str = "volume_bbl",
    dataset: str | None = None,
    data_note: str = "",
    totals: list[str] | None = None,
) -> Report:
    """Run :func:`~oilflows.analytics.substitution` and monthly supplier shares on the same dataset.

    The coverage is bounded three ways: from the grade detail alone, with the partner totals of
    `totals` (default: every other statistical dataset in `frame` with the two partners' totals, e.g.
    Eurostat nrg_ti_oil), and with those plus the ``published`` figures if `frame` holds any.
    """
    result = substitution(frame, reporter, displaced=displaced, substitute=substitute, baseline=baseline,
                          post=post, measure=measure, dataset=dataset)
    # The substitution's panel (same reporter, dataset, measure, monthly) serves the shares and the
    # counterfactual too: one build_panel per report (issue 14).
    panel = result.panel
    shares = (shares_on_panel(panel, "M") if panel is not None else
              supplier_shares(frame, reporter, measure=measure, freq="M",
                              dataset=f"{result.source}/{result.dataset}"))
    context = before_after(frame, result)
    fitted, error = None, None
    cf_options = {"shock": post[0], "post": post, "measure": measure, "displaced": displaced,
                  "dataset": f"{result.source}/{result.dataset}"}
    try:
        fitted = (counterfactual_on_panel(panel, substitute, **cf_options) if panel is not None
                  else counterfactual(frame, reporter, partner=substitute, **cf_options))  # type: ignore[arg-type]
    except AnalysisError as exc:
        error = str(exc)
    report = Report(result, shares, data_note, context, fitted, error)
    statistical = list(totals if totals is not None else statistical_totals(
        frame, result.reporter, partners=(result.displaced, result.substitute), baseline=result.baseline,
        post=result.post, exclude=(result.source, result.dataset)))
    report.bounds, report.since = _bounds_variants(frame, result, statistical), _since(frame, result)
    window = _months(result.post)
    names = list(statistical)
    if (frame["source"] == "published").any() and "published" not in names:
        names.append("published")
    try:
        start, end = window
        report.routes_detail = route_exposure(frame, reporter, partner=substitute, start=start, end=end,
                                              measure=measure, dataset=f"{result.source}/{result.dataset}")
        report.routes = (route_exposure(frame, reporter, partner=substitute, start=start, end=end,
                                        measure=measure, dataset=f"{result.source}/{result.dataset}",
                                        totals=names)
                         if names else report.routes_detail)
        report.signals = relabelling_signals(frame, reporter, partner=substitute, displaced=displaced,
                                             post=window, measure=measure,
                                             dataset=f"{result.source}/{result.dataset}")
        report.balance = exporter_balance(frame, substitute)
    except AnalysisError as exc:
        report.infrastructure_error = str(exc)
    return report


def _bounds_variants(frame: pd.DataFrame, result: SubstitutionResult,
                     statistical: list[str]) -> list[tuple[str, SubstitutionBounds]]:
    """Joint bounds from the grade detail alone, with statistical totals, and with published figures."""
    if result.bounds is None:
        return []
    variants = [("grade detail alone", result.bounds)]
    published = bool((frame["source"] == "published").any())
    choices = []
    if statistical:
        choices.append((f"with partner totals ({', '.join(statistical)})", list(statistical)))
    if published and "published" not in statistical:
        label = "with partner totals and published figures" if statistical else "with published figures"
        choices.append((label, [*statistical, "published"]))
    for label, names in choices:
        try:
            variants.append((label, substitution_bounds(
                frame, result.reporter, displaced=result.displaced, substitute=result.substitute,
                baseline=_months(result.baseline), post=_months(result.post),
                measure=result.measure, dataset=f"{result.source}/{result.dataset}", totals=names)))
        except AnalysisError as exc:
            result.caveats.append(f"bounds {label}: not available ({exc})")
    return variants


def _months(window: tuple[pd.Timestamp, pd.Timestamp]) -> tuple[str, str]:
    """A window's first and last months as ``YYYY-MM``."""
    return f"{window[0]:%Y-%m}", f"{window[1]:%Y-%m}"


def _since(frame: pd.DataFrame, result: SubstitutionResult) -> pd.DataFrame:
    """Published figures for the reporter after the post window: the two partners and the total."""
    rows = frame[(frame["source"] == "published") & (frame["reporter"] == result.reporter)
                 & (frame["period"] > result.post[1])
                 & frame["partner"].isin([result.displaced, result.substitute, "WORLD"])]
    if rows.empty:
        return pd.DataFrame(columns=["period", "what", "figure", "publisher", "published"])
    from .sources.published import provenance

    prov = provenance()
    prov = prov[prov["emitted"].astype(bool)]
    out = []
    for r in rows.sort_values(["period", "partner", "dataset"]).itertuples(index=False):
        match = prov[(prov["dataset"] == r.dataset) & (prov["partner"] == r.partner)
                     & (prov["freq"] == r.freq) & (prov["period"] == r.period)]
        first = match.iloc[0] if len(match) else None
        grade = r.grade if isinstance(r.grade, str) and r.grade else None
        what = (f"{r.partner} ({grade})" if grade else
                "all origins" if r.partner == "WORLD" else r.partner)
        figure = (f"{first['value']} {first['unit']}" if first is not None
                  else f"{r.mass_t / 1e6:,.2f} Mt")
        if first is not None and first["qualifier"] not in ("exact-as-printed", ""):
            figure = f"{figure} ({first['qualifier']})"
        out.append({"period": f"{r.period:%Y}" if r.freq == "A" else f"{r.period:%Y-%m}", "what": what,
                    "figure": figure,
                    "publisher": first["publisher"] if first is not None else r.dataset,
                    "published": (str(first["published_date"]) if first is not None
                                  else "date unknown")})
    return pd.DataFrame(out)






def before_after(frame: pd.DataFrame, result: SubstitutionResult) -> pd.DataFrame:
    """Concentration and slate quality over the baseline and post windows of `result`.

    Concentration: HHI (0-10,000) and effective number of suppliers on window totals, on shares of
    disclosed volume and, as a lower bound, of WORLD (undisclosed volume left out). Quality:
    volume-weighted API gravity (degrees) and mass-weighted sulphur (% by weight) of the grades
    with disclosed quality (coverage = their share of WORLD).
    """
    windows = {"baseline": result.baseline, "post": result.post}
    rows: dict[str, dict[str, str]] = {}
    assert result.panel is not None  # substitution() keeps the panel it built
    for r in window_concentration(result.panel, windows).itertuples(index=False):
        rows.setdefault("HHI, shares of disclosed volume", {})[r.window] = f"{r.hhi_disclosed:,.0f}"
        rows.setdefault("HHI, shares of WORLD (lower bound)", {})[r.window] = f"{r.hhi_world:,.0f}"
        rows.setdefault("effective number of suppliers (disclosed)", {})[r.window] = (
            f"{r.effective_n_disclosed:.1f}")
    notes = {"HHI, shares of disclosed volume": "0-10,000; countries of origin",
             "HHI, shares of WORLD (lower bound)": "undisclosed volume left out",
             "effective number of suppliers (disclosed)": "1 / HHI"}
    try:
        slate = window_slate(frame, result.reporter, windows=windows,
                             dataset=f"{result.source}/{result.dataset}", panel=result.panel)
    except AnalysisError:
        slate = None
    if slate is not None and not slate.empty:
        for r in slate.itertuples(index=False):
            rows.setdefault("slate API gravity, degrees (volume-weighted)", {})[r.window] = (
                f"{r.api_gravity:.2f}")
            rows.setdefault("slate sulphur, % (mass-weighted)", {})[r.window] = f"{r.sulphur_pct_mass:.2f}"
            rows.setdefault("share of WORLD with disclosed quality", {})[r.window] = f"{r.coverage:.0%}"
        notes.update({"slate API gravity, degrees (volume-weighted)": "higher = lighter",
                      "slate sulphur, % (mass-weighted)": "below 1 % = sweet",
                      "share of WORLD with disclosed quality": "confidential grades excluded"})
    return pd.DataFrame([{"measure": m, "baseline": v.get("baseline", "n/a"), "post": v.get("post", "n/a"),
                          "note": notes.get(m, "")} for m, v in rows.items()])


def _context_text(context: pd.DataFrame) -> str:
    lines = [f"{'':<46}{'baseline':>10}{'post':>10}"]
    lines += [f"{r.measure:<46}{r.baseline:>10}{r.post:>10}  {r.note}"
              for r in context.itertuples(index=False)]
    return "\n".join(lines)

__all__ = ["Report", "before_after", "build_report"]
