"""The substitution report: the figures `oilflows report` prints, as text, Markdown and HTML with PNGs."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .analytics import SharesResult, SubstitutionResult, substitution, supplier_shares
from .analytics._panel import UNDISCLOSED, display
from .analytics.concentration import effective_n, hhi
from .analytics.counterfactual import CounterfactualResult, counterfactual
from .analytics.quality import crude_slate
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
        parts = [self.substitution.summary(), ""]
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
        lines = [f"# {self._title()}", ""]
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
        """The report as a self-contained HTML page (figures linked as PNG files)."""
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
                f"<h1>{esc(self._title())}</h1><table>{head}</table>"
                f"<h2>Who replaced {esc(s.displaced)}</h2><p>Monthly means; <code>{UNDISCLOSED}</code> "
                f"is WORLD minus the disclosed partners.</p>{table}{context}{images}"
                f"<h2>Caveats</h2><ul>{caveats}</ul><h2>Data</h2><p>{esc(self.data_note)}</p>"
                f"</body></html>\n")

    def write(self, directory: str | Path) -> dict[str, Path]:
        """Write report.md, report.html, shares.png and replacement.png into `directory`."""
        from .analytics._plot import pyplot

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        plt = pyplot()
        figures = {"shares over time": "shares.png", "replacement": "replacement.png"}
        ax = self.shares.plot(partners=[self.substitution.displaced, self.substitution.substitute,
                                        *self.substitution.top_replacements(4).index])
        ax.figure.tight_layout()
        ax.figure.savefig(out / "shares.png", dpi=110)
        plt.close(ax.figure)
        ax = self.substitution.plot()
        ax.figure.tight_layout()
        ax.figure.savefig(out / "replacement.png", dpi=110)
        plt.close(ax.figure)
        (out / "report.md").write_text(self.markdown(figures), encoding="utf-8")
        (out / "report.html").write_text(self.html(figures), encoding="utf-8")
        return {"markdown": out / "report.md", "html": out / "report.html",
                "shares": out / "shares.png", "replacement": out / "replacement.png"}


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
) -> Report:
    """Run :func:`~oilflows.analytics.substitution` and monthly supplier shares on the same dataset."""
    result = substitution(frame, reporter, displaced, substitute, baseline, post, measure, dataset)
    shares = supplier_shares(frame, reporter, measure, "M", f"{result.source}/{result.dataset}")
    context = before_after(frame, result)
    fitted, error = None, None
    try:
        fitted = counterfactual(frame, reporter, substitute, shock=post[0], post=post, measure=measure,
                                displaced=displaced, dataset=f"{result.source}/{result.dataset}")
    except AnalysisError as exc:
        error = str(exc)
    return Report(result, shares, data_note, context, fitted, error)


def before_after(frame: pd.DataFrame, result: SubstitutionResult) -> pd.DataFrame:
    """Concentration and slate quality over the baseline and post windows of `result`.

    Concentration: HHI (0-10,000) and effective number of suppliers on window totals, on shares of
    disclosed volume and, as a lower bound, of WORLD (undisclosed volume left out). Quality:
    volume-weighted API gravity (degrees) and mass-weighted sulphur (% by weight) of the grades
    with disclosed quality (coverage = their share of WORLD).
    """
    panel = result.panel
    windows = {"baseline": result.baseline, "post": result.post}
    rows: dict[str, dict[str, str]] = {}
    for name, (lo, hi) in windows.items():
        inside = (panel.values.index >= lo) & (panel.values.index <= hi)
        totals = panel.values.loc[inside].sum()
        world = panel.world.loc[inside].sum()
        disclosed = totals.sum()
        rows.setdefault("HHI, shares of disclosed volume", {})[name] = f"{hhi(totals / disclosed):,.0f}"
        rows.setdefault("HHI, shares of WORLD (lower bound)", {})[name] = f"{hhi(totals / world):,.0f}"
        rows.setdefault("effective number of suppliers (disclosed)", {})[name] = (
            f"{effective_n(totals / disclosed):.1f}")
    notes = {"HHI, shares of disclosed volume": "0-10,000; countries of origin",
             "HHI, shares of WORLD (lower bound)": "undisclosed volume left out",
             "effective number of suppliers (disclosed)": "1 / HHI"}
    try:
        slate = crude_slate(frame, result.reporter, dataset=f"{result.source}/{result.dataset}",
                            freq="M").table
    except AnalysisError:
        slate = None
    if slate is not None and slate["quality_bbl"].sum() > 0:
        for name, (lo, hi) in windows.items():
            w = slate[(slate.index >= lo) & (slate.index <= hi)].dropna(subset=["api_gravity"])
            if w.empty:
                continue
            api = (w["api_gravity"] * w["quality_bbl"]).sum() / w["quality_bbl"].sum()
            sulphur = (w["sulphur_pct_mass"] * w["quality_t"]).sum() / w["quality_t"].sum()
            coverage = w["quality_bbl"].sum() / w["world_bbl"].sum()
            rows.setdefault("slate API gravity, degrees (volume-weighted)", {})[name] = f"{api:.2f}"
            rows.setdefault("slate sulphur, % (mass-weighted)", {})[name] = f"{sulphur:.2f}"
            rows.setdefault("share of WORLD with disclosed quality", {})[name] = f"{coverage:.0%}"
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
