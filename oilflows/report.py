"""The substitution report: the figures `oilflows report` prints, as text, Markdown and HTML with PNGs."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .analytics import SharesResult, SubstitutionResult, substitution, supplier_shares
from .analytics._panel import UNDISCLOSED, display


@dataclass
class Report:
    """A substitution result plus the reporter's supplier shares over time."""

    substitution: SubstitutionResult
    shares: SharesResult
    data_note: str

    def text(self) -> str:
        """The console report."""
        return "\n".join([self.substitution.summary(), "", self.shares.summary(), "",
                          f"Data: {self.data_note}"])

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
        style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
                 "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
                 "padding:.25em .6em;text-align:right}th{background:#f4f4f4}img{max-width:100%}")
        return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{esc(self._title())}</title><style>{style}</style></head><body>"
                f"<h1>{esc(self._title())}</h1><table>{head}</table>"
                f"<h2>Who replaced {esc(s.displaced)}</h2><p>Monthly means; <code>{UNDISCLOSED}</code> "
                f"is WORLD minus the disclosed partners.</p>{table}{images}"
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
    return Report(result, shares, data_note)
