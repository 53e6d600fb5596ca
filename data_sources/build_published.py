"""Build the curated published-figures table (oilflows/data/published_figures.csv) from shared/data.

Usage::

    python data_sources/build_published.py [--shared ../shared/data] [--out oilflows/data]

Reads the two typed files of ``shared/data/reference``:

- ``de_crude_published_figures.csv`` (period, reporter, partner, metric, value, unit, publisher,
  cited_via_url, note): BAFA, Destatis and MWV figures, rows ``A001``..;
- ``published_figures_2022_2026.csv`` (source, url, published_date, metric, reporter, partner, period,
  value, unit, quote): German imports and Kazakh KEBCO-via-Druzhba deliveries, rows ``B001``..;

plus :data:`SUPPLEMENT`, exporter-side figures typed here with their page and quote (Kazakhstan's
total exports and production, which the exporter mass balance needs), rows ``C001``..;

and writes one table with the columns of :data:`oilflows.sources.published.CSV_COLUMNS`. Every
decision is a table below (publisher, trust, metric, period), so the output is deterministic and
each change of a figure's reading is visible in ``note`` ("as typed: ..."). See
``data_sources/published.md`` for the provenance and the rules.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oilflows.sources import published  # noqa: E402

FILE_A = "reference/de_crude_published_figures.csv"
FILE_B = "reference/published_figures_2022_2026.csv"

#: Publisher as typed -> (publisher as curated: "Body (detail) via relay", trust). The body (text
#: before " (", " via " or ",") is the one who produced the number and gives the dataset slug.
PUBLISHERS: dict[str, tuple[str, str]] = {
    # de_crude_published_figures.csv
    "BAFA (via Reuters)": ("BAFA via Reuters", "high"),
    "Destatis (via DIHK)": ("Destatis via DIHK", "high"),
    "Destatis press release 2023-03-13": ("Destatis (press release 2023-03-13)", "high"),
    "Destatis rohoel-jaehrlich table (via sbmv.de)":
        ("Destatis (rohoel-jaehrlich table) via sbmv.de", "high"),
    "Destatis (via dpa-AFX)": ("Destatis via dpa-AFX", "high"),
    "BAFA (via dpa)": ("BAFA via dpa", "high"),
    "Destatis (via innovations-report)": ("Destatis via innovations-report", "high"),
    "Eurostat news (via ADZ)": ("Eurostat (news release) via ADZ", "medium-high"),
    "BAFA (via EEK)": ("BAFA via EEK", "high"),
    "MWV annual report (via fbc.de)": ("MWV (annual report) via fbc.de", "high"),
    "Statista (Destatis-based)": ("Statista (Destatis-based)", "medium"),
    "BAFA (via Reuters/bunkerportsnews)": ("BAFA via Reuters, bunkerportsnews", "high"),
    "BAFA (via esperio)": ("BAFA via esperio", "medium"),
    # published_figures_2022_2026.csv
    "Destatis press release (presseportal.de)": ("Destatis (press release) via presseportal.de", "high"),
    "Destatis press release via dts (naanoo.com)": ("Destatis (press release) via dts, naanoo.com", "high"),
    "Destatis via Reuters (onvista.de)": ("Destatis via Reuters, onvista.de", "high"),
    "Destatis via dpa-AFX (wallstreet-online.de)": ("Destatis via dpa-AFX, wallstreet-online.de", "high"),
    "Destatis via dpa (insuedthueringen.de)": ("Destatis via dpa, insuedthueringen.de", "high"),
    "n-tv / dpa citing Interfax-Kazakhstan (KazMunayGas presentation)":
        ("KazMunayGas (presentation) via Interfax-Kazakhstan, dpa, n-tv", "medium-high"),
    "n-tv / dpa citing Destatis (preliminary)": ("Destatis (preliminary) via dpa, n-tv", "high"),
    "n-tv / dpa citing Interfax-Kazakhstan": ("Interfax-Kazakhstan via dpa, n-tv", "medium-high"),
    "Deutschlandfunk (KazMunayGas)": ("KazMunayGas via Deutschlandfunk", "medium-high"),
    "Deutschlandfunk": ("Deutschlandfunk", "medium"),
    "Xinhua (German service), KMG press service":
        ("KazMunayGas (press service) via Xinhua (German service)", "medium-high"),
    "refinanc.ru (KazTransOil via Interfax-Kazakhstan)":
        ("KazTransOil via Interfax-Kazakhstan, refinanc.ru", "medium-high"),
    "money.bg (KazTransOil via Interfax-Kazakhstan)":
        ("KazTransOil via Interfax-Kazakhstan, money.bg", "medium-high"),
    "Baird Maritime (Reuters, Kaztransoil data)":
        ("KazTransOil (data) via Reuters, Baird Maritime", "medium-high"),
    "Deutsche Allgemeine Zeitung Kasachstan (Reuters)":
        ("Reuters via Deutsche Allgemeine Zeitung Kasachstan", "medium-high"),
    "Deutsche Allgemeine Zeitung Kasachstan": ("Deutsche Allgemeine Zeitung Kasachstan", "medium"),
    "MENAFN / AzerNews (Kazakh Ministry of Energy)":
        ("Kazakh Ministry of Energy via AzerNews, MENAFN", "medium-high"),
    "MENAFN / AzerNews": ("AzerNews via MENAFN", "medium"),
    "Trend News Agency (Kazakh Ministry of Energy)":
        ("Kazakh Ministry of Energy via Trend News Agency", "medium-high"),
    "ginero.ru (KazTransOil)": ("KazTransOil via ginero.ru", "medium"),
    "ginero.ru": ("ginero.ru (no attribution)", "low"),
    "Turkish News World (KMG press service)":
        ("KazMunayGas (press service) via Turkish News World", "medium"),
    "dpa via Newsbreak (German government sources)":
        ("German government (sources) via dpa, Newsbreak", "medium-high"),
    "dpa (Stuttgarter Nachrichten; same text in Süddeutsche Zeitung)":
        ("dpa via Stuttgarter Nachrichten (same text in Süddeutsche Zeitung)", "medium"),
    "TASS (Kazakh Ministry of Energy)": ("Kazakh Ministry of Energy via TASS", "medium-high"),
    "TASS (Kazakh Energy Minister)": ("Kazakh Ministry of Energy (the minister) via TASS", "medium-high"),
    "Trend News Agency (Kazakh Energy Minister)":
        ("Kazakh Ministry of Energy (the minister) via Trend News Agency", "medium-high"),
    "naryk.kz (Kazakh Energy Minister interview)":
        ("Kazakh Ministry of Energy (the minister, interview) via naryk.kz", "medium-high"),
    "Trend News Agency (KMG chairman)": ("KazMunayGas (chairman) via Trend News Agency", "medium-high"),
    "Bunkerportsnews (Reuters data)": ("Reuters (data) via Bunkerportsnews", "medium-high"),
    "world-energy.org (Interfax/KazTransOil)": ("KazTransOil via Interfax, world-energy.org", "medium"),
    "bm.ge (Reuters, President Tokayev)":
        ("President of Kazakhstan (Tokayev) via Reuters, bm.ge", "medium-high"),
    "GTAI (citing BAFA, preliminary)": ("BAFA (preliminary) via GTAI", "high"),
    "fbdza.eu (citing DEinternational Kasachstan LLP)":
        ("fbdza.eu (citing DEinternational Kasachstan LLP)", "low"),
    "fbdza.eu (citing Destatis) - CONFLICTS with +34.6% in Destatis release":
        ("fbdza.eu (citing Destatis; conflicts with the Destatis release, +34.6 % y/y)", "low"),
    "RT (citing Destatis) - low-trust outlet": ("RT (citing Destatis; low-trust outlet)", "low"),
    "cash.ch / dpa-AFX (citing BAFA)": ("BAFA via dpa-AFX, cash.ch", "high"),
    "cash.ch / dpa-AFX (Bundesregierung answer)":
        ("German government (answer to parliament) via dpa-AFX, cash.ch", "high"),
    "ADZ (Eurostat news release on 2024 energy imports)":
        ("Eurostat (news release on 2024 energy imports) via ADZ", "medium-high"),
    "ratel.kz (Kazinform citing Econovis)": ("Econovis via Kazinform, ratel.kz", "medium"),
    "24info.mk (Eurostat Q3-2023 release)": ("Eurostat (Q3-2023 release) via 24info.mk", "medium"),
    "news-pravda.com (Interfax; Transneft/KMG) - low-trust aggregator":
        ("news-pravda.com (citing Interfax; Transneft/KMG; low-trust aggregator)", "low"),
}

KEBCO_SLICE = ("KEBCO through Druzhba to Schwedt: a slice of Germany's imports from KZ "
               "(CPC Blend arrives by sea), not the total")
#: Metric as typed -> (metric, grade, note). Exporter-side rows about Germany become reporter DE,
#: partner KZ (they are Germany's imports of that grade).
METRICS: dict[str, tuple[str, str, str]] = {
    "crude_import_quantity": ("crude_import_quantity", "", ""),
    "crude_import_share": ("crude_import_share", "", ""),
    "crude_import_value": ("crude_import_value", "", ""),
    "crude_import_unit_value": ("crude_import_unit_value", "", ""),
    "oil_import_share": ("crude_import_share", "", "share of petroleum-oil imports"),
    "petroleum_oil_import_share": ("crude_import_share", "", "share of petroleum-oil imports"),
    "petroleum_oil_import_share (Comext, HS 2709)": ("crude_import_share", "", "Comext HS 2709 share"),
    "crude_import_share (period not stated)": ("crude_import_share", "", "period not stated"),
    "crude_import_volume": ("crude_import_quantity", "", ""),
    "supplier_rank": ("supplier_rank", "", ""),
    "supplier_mention_no_value": ("supplier_mention", "", "named without a figure"),
    "crude_import_change_vs_2005": ("crude_import_change", "", "change against 2005"),
    "change_yoy (basis not stated)": ("crude_import_change", "", "change on the year, basis not stated"),
    "crude_border_price": ("crude_border_price", "", ""),
    "druzhba_delivery_quantity (KEBCO)": ("crude_import_quantity", "KEBCO", KEBCO_SLICE),
    "druzhba_delivery_quantity_ytd (KEBCO)": ("crude_import_quantity", "KEBCO", KEBCO_SLICE),
    "druzhba_delivery_quantity_monthly (KEBCO)": ("crude_import_quantity", "KEBCO", KEBCO_SLICE),
    "druzhba_delivery_quantity_cumulative (KEBCO)": ("crude_import_quantity", "KEBCO", KEBCO_SLICE),
    "druzhba_delivery_quantity_to_PCK": ("crude_import_quantity", "KEBCO", KEBCO_SLICE),
    "crude_export_quantity_KZ_to_DE": (
        "crude_import_quantity", "KEBCO",
        "typed as Kazakhstan's exports to Germany, but the figure is the Druzhba volume (993 kt in 2023, "
        "1.5 Mt in 2024, as in the KEBCO rows), not Germany's total imports from KZ (about 9 Mt, mostly "
        "CPC Blend by sea); " + KEBCO_SLICE),
    "export_target": ("export_target", "KEBCO", "a target for the Druzhba route (KEBCO), not an outcome"),
    "druzhba_delivery_plan": ("delivery_plan", "KEBCO", "a plan, not an outcome"),
    "druzhba_delivery_plan_to_PCK": ("delivery_plan", "KEBCO", "a plan, not an outcome"),
    "druzhba_transit_quota": ("transit_quota", "KEBCO", "a transit quota, not an outcome"),
    "contract_monthly_volume": ("contract_volume", "KEBCO", "a contract, not an outcome"),
    "crude_export_quantity": ("crude_export_quantity", "", "exporter-side total"),
    "btc_export_quantity (KZ via Baku-Tbilisi-Ceyhan, all destinations)":
        ("crude_export_quantity", "BTC", "exports through the Baku-Tbilisi-Ceyhan pipeline, all "
         "destinations: a route slice, not Kazakhstan's total exports"),
    "druzhba_import_quantity_from_RU": ("crude_import_quantity", "Druzhba",
                                        "Russian crude through the Druzhba pipeline only: a slice"),
}

#: Periods as typed that the curated grammar writes differently.
PERIODS: dict[str, str] = {
    "2022-01..11": "2022-01..2022-11",
    "2025-01..2025-09/10 (year to date at 2025-10-07)": "2025-01..2025-10",
    "2023-01..2023-09 (to 2023-09-28)": "2023-01..2023-09",
    "2023-05..2023-10 (each month)": "2023-05..2023-10",
    "2023-02..early 2023-07": "2023-02..2023-07",
    "2026 (new agreement)": "2026",
    "unstated (2023 or 2024 YTD)": "",
}

#: The reference file has no publication dates; where two rows of one publisher would otherwise share
#: a key, the year is inferred from the latest data year the page reports (BAFA's annual figures for
#: year Y are published early in Y+1).
FILE_A_DATES: dict[str, tuple[str, str]] = {
    "Destatis press release 2023-03-13": ("2023-03-13", ""),
    "BAFA (via Reuters)": ("2023", "published_date inferred: the page reports 2022 annual figures"),
    "BAFA (via EEK)": ("2022", "published_date inferred: the page reports 2021 annual figures"),
}

#: The typist's hedge in the value column -> the qualifier it means (checked against the quote).
VALUE_HINTS: dict[str, str] = {"rund": "about", "etwa": "about", "around": "about",
                               "nearly": "nearly", "up to": "at_most", "gut 78": "a_good"}


KAZINFORM = ("According to the energy ministry, the country produced 89.9 million tons of oil in 2023. "
             "Of these, 70.5 million tons were exported and 17.5 million tons were delivered to the "
             "domestic market. For comparison, the country produced 84.2 million tons of oil in 2022, "
             "including 64.3 million tons for export and 17.9 million tons for domestic consumption.")
KAZINFORM_URL = "https://en.inform.kz/news/kazakhstan-loses-20-tons-in-oil-production-due-to-floods-76d295/"
OIL_AND_CONDENSATE = ("Kazakh figures are oil and gas condensate (Reuters, via marketscreener.com: "
                      "'70,5 Millionen Tonnen Öl- und Gaskondensat exportiert, gegenüber 64,3 Millionen "
                      "Tonnen im Jahr 2022')")
#: Exporter-side figures typed here, not in shared/data (rows C001..): Kazakhstan's total exports
#: (emitted as reporter KZ, partner WORLD, flow export) and production (kept in the table only).
#: Columns as in the curated table, without id and qualifier (derived from the quote).
SUPPLEMENT: tuple[dict[str, str], ...] = (
    {"publisher": "Kazakh Ministry of Energy via Kazinform", "address": KAZINFORM_URL,
     "published_date": "2024-04-26", "quote": KAZINFORM, "metric": "crude_export_quantity",
     "reporter": "KZ", "partner": "WORLD", "grade": "", "period": "2022", "value": "64.3",
     "unit": "Mt", "trust": "medium-high",
     "note": "exporter-side total, all destinations; " + OIL_AND_CONDENSATE},
    {"publisher": "Kazakh Ministry of Energy via Kazinform", "address": KAZINFORM_URL,
     "published_date": "2024-04-26", "quote": KAZINFORM, "metric": "crude_export_quantity",
     "reporter": "KZ", "partner": "WORLD", "grade": "", "period": "2023", "value": "70.5",
     "unit": "Mt", "trust": "medium-high",
     "note": "exporter-side total, all destinations (the minister gave the same figure on 2024-02-21, "
             "B061); " + OIL_AND_CONDENSATE},
    {"publisher": "Kazakh Ministry of Energy via Kazinform", "address": KAZINFORM_URL,
     "published_date": "2024-04-26", "quote": KAZINFORM, "metric": "crude_production_quantity",
     "reporter": "KZ", "partner": "WORLD", "grade": "", "period": "2022", "value": "84.2",
     "unit": "Mt", "trust": "medium-high",
     "note": "production, not a trade flow (kept in the table only); " + OIL_AND_CONDENSATE},
    {"publisher": "Kazakh Ministry of Energy via Kazinform", "address": KAZINFORM_URL,
     "published_date": "2024-04-26", "quote": KAZINFORM, "metric": "crude_production_quantity",
     "reporter": "KZ", "partner": "WORLD", "grade": "", "period": "2023", "value": "89.9",
     "unit": "Mt", "trust": "medium-high",
     "note": "production, not a trade flow (kept in the table only); " + OIL_AND_CONDENSATE},
)


def curate_c(rows: tuple[dict[str, str], ...] = SUPPLEMENT) -> list[dict[str, str]]:
    out = []
    for n, row in enumerate(rows, start=1):
        qualifier, q_note = _qualifier(row["quote"], row["value"], row["unit"], "", f"SUPPLEMENT row {n}")
        out.append({"id": f"C{n:03d}", **row, "qualifier": qualifier,
                    "note": _join(row["note"], q_note, "typed in data_sources/build_published.py")})
    return out


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _value(text: str) -> tuple[str, str]:
    """(number as printed, hint) from a typed value such as ``2.1 (rund)`` or ``>78 (gut 78)``."""
    m = re.fullmatch(r">?\s*(-?\d+(?:\.\d+)?)\s*(?:\((.+)\))?", text.strip())
    if text.strip() == "":
        return "", ""
    if m is None:
        raise SystemExit(f"cannot read the value {text!r}")
    return m.group(1), (m.group(2) or "").strip()


def _qualifier(quote: str, value: str, unit: str, hint: str, where: str) -> tuple[str, str]:
    if not quote or value == "":
        return "exact-as-printed", ""
    found = published.qualifier_from_quote(quote, value, unit)
    note = ""
    if found is None:
        found, note = "exact-as-printed", "the number is not printed in digits in the quote"
    if hint and VALUE_HINTS.get(hint) != found:
        raise SystemExit(f"{where}: the value's hint {hint!r} and the quote's words ({found}) disagree")
    return found, note


def curate_a(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for n, row in enumerate(rows, start=1):
        publisher, trust = PUBLISHERS[row["publisher"]]
        metric, grade, metric_note = METRICS[row["metric"]]
        date, date_note = FILE_A_DATES.get(row["publisher"], ("", ""))
        value, hint = _value(row["value"])
        out.append({
            "id": f"A{n:03d}", "publisher": publisher, "address": row["cited_via_url"],
            "published_date": date, "quote": "", "metric": metric, "reporter": row["reporter"],
            "partner": row["partner"], "grade": grade, "period": PERIODS.get(row["period"], row["period"]),
            "value": value, "unit": row["unit"], "qualifier": "exact-as-printed", "trust": trust,
            "note": _join(row["note"], metric_note, date_note,
                          f"publisher as typed: {row['publisher']}",
                          f"metric as typed: {row['metric']}" if metric != row["metric"] else "",
                          f"period as typed: {row['period']}" if row["period"] in PERIODS else ""),
        })
    return out


def curate_b(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    out = []
    for n, row in enumerate(rows, start=1):
        where = f"{FILE_B} row {n}"
        publisher, trust = PUBLISHERS[row["source"]]
        metric, grade, metric_note = METRICS[row["metric"]]
        reporter, partner = row["reporter"], row["partner"]
        reporter_note = ""
        if reporter == "KZ (exporter-side)":
            if metric == "crude_export_quantity":
                reporter = "KZ"
            elif partner == "DE":
                reporter, partner = "DE", "KZ"
                reporter_note = "exporter-side (Kazakh) figure, read as Germany's imports of the grade"
            else:
                raise SystemExit(f"{where}: exporter-side row {row['metric']!r} to {partner!r}")
        date_match = re.match(r"\d{4}(-\d{2}(-\d{2})?)?", row["published_date"])
        if date_match is None:
            raise SystemExit(f"{where}: no date in {row['published_date']!r}")
        date = date_match.group(0)
        value, hint = _value(row["value"])
        qualifier, q_note = _qualifier(row["quote"], value, row["unit"], hint, where)
        url, _, url_note = row["url"].partition(" (")
        out.append({
            "id": f"B{n:03d}", "publisher": publisher, "address": url.strip(), "published_date": date,
            "quote": row["quote"], "metric": metric, "reporter": reporter, "partner": partner,
            "grade": grade, "period": PERIODS.get(row["period"], row["period"]), "value": value,
            "unit": row["unit"], "qualifier": qualifier, "trust": trust,
            "note": _join(metric_note, reporter_note, q_note,
                          f"publisher as typed: {row['source']}",
                          f"metric as typed: {row['metric']}" if metric != row["metric"] else "",
                          f"reporter as typed: {row['reporter']}" if reporter != row["reporter"] else "",
                          f"value as typed: {row['value']}" if value != row["value"] else "",
                          f"period as typed: {row['period']}" if row["period"] in PERIODS else "",
                          f"published_date as typed: {row['published_date']}"
                          if date != row["published_date"] else "",
                          f"address note: ({url_note}" if url_note else ""),
        })
    return out


def build(shared: Path, out: Path) -> Path:
    rows = curate_a(_read(shared / FILE_A)) + curate_b(_read(shared / FILE_B)) + curate_c()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(published.CSV_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    published.read(data, min_trust="low")  # every row parses; no key conflicts even with low trust
    out.mkdir(parents=True, exist_ok=True)
    target = out / published.PACKAGED
    target.write_bytes(data)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "oilflows" / "data")
    args = parser.parse_args()
    target = build(args.shared, args.out)
    frame = published.read(target)
    print(f"wrote {target}: {sum(1 for _ in target.open(encoding='utf-8')) - 1} figures, "
          f"{target.stat().st_size:,} bytes; {len(frame)} canonical rows")
    for reason, count in frame.attrs["skipped"].items():
        print(f"  skipped {count:>3}: {reason}")


if __name__ == "__main__":
    main()
