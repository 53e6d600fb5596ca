"""The command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import argparse
import difflib
import errno
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import AnalysisError, FetchError, OilflowsError, QueryError, SourceFormatError, StoreError

if TYPE_CHECKING:  # pandas and the store load only when a command needs them
    import pandas as pd

    from .sources.registry import Source
    from .store import Store

#: Exit statuses of the ``oilflows`` command (also in ``oilflows --help`` and docs/cli.md).
EXIT_OK = 0
EXIT_DATA = 1  # bad input data, an analysis the data cannot answer, a missing file, a failed refresh
EXIT_USAGE = 2  # bad arguments
EXIT_NETWORK = 3  # a download failed (FetchError and its subclasses, NetworkError, ...)
EXIT_STORE = 4  # the store cannot be read or written, or is not there
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_BROKEN_PIPE = 141  # stdout closed early (`oilflows info | head -1`): 128 + SIGPIPE, as in a shell

#: Environment variables whose values `oilflows info` never prints (shown as ``<set>``).
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
#: Credentials oilflows reads from the environment besides the ``OILFLOWS_*`` settings.
CREDENTIAL_VARIABLES = ("COMTRADE_API_KEY", "GENESIS_TOKEN")
FORMATS = ("text", "json", "csv")

DESCRIPTION = """oilflows: where a country's crude oil comes from.

Commands:
  report   how far one supplier replaced another (default: Kazakh for Russian crude in
           Germany, 2021 vs 2023), offline on the embedded snapshot or on your store
  refresh  fetch the configured datasets from the public APIs into the store
  reconcile  one flow (e.g. DE imports from KZ) from every source side by side, in tonnes
  info     what the embedded snapshot and the store hold, and the paths and settings in effect
  list     the datasets, reporters or partners in the embedded default (or the store)
  store    verify the store's files against its manifest, or repair an interrupted write

Exit status: 0 ok; 1 bad data, an analysis the data cannot answer or a missing file; 2 bad
arguments; 3 network (a download failed); 4 store (missing, unreadable or unwritable); 130
interrupted; 141 stdout closed early (e.g. piped into head). Errors are one line on stderr;
--debug adds the traceback.
"""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line usage error on stderr (exit 2) instead of the usage text."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {' '.join(message.split())} "
                              f"(see '{self.prog} --help')\n")


def _common() -> _Parser:
    """Options every command takes, before or after the command name."""
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="log on stderr: -v warnings and info (e.g. HTTP retries), -vv debug")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="only errors on stderr: no progress bar, no notes, no warnings")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")
    return common


def _format_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", default="text", choices=FORMATS,
                        help="output: text (default), json, or csv (the main table)")


def _parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(prog="oilflows", description=DESCRIPTION, parents=[common],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"oilflows {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = commands.add_parser(
        "report", help="substitution report (offline on the embedded default)", parents=[common],
        description="How far did SUBSTITUTE replace DISPLACED in REPORTER's crude imports? "
                    "Leads with the coverage interval the data identify (every split of the "
                    "confidential cells allowed), narrowed by partner totals and published "
                    "figures; then shortfall, gain, the disclosed-cells coverage, who replaced the "
                    "displaced supplier, the undisclosed share, and caveats.")
    report.add_argument("--reporter", default="DE",
                        help="importer, ISO alpha-2, any case (default DE; `oilflows list reporters`)")
    report.add_argument("--displaced", default="RU", help="supplier that was lost (default RU)")
    report.add_argument("--substitute", default="KZ",
                        help="supplier examined (default KZ; must differ from --displaced; "
                             "`oilflows list partners --reporter DE`)")
    report.add_argument("--baseline", nargs=2, default=["2021-01", "2021-12"],
                        metavar=("FIRST", "LAST"), help="baseline months (default 2021-01 2021-12)")
    report.add_argument("--post", nargs=2, default=["2023-01", "2023-12"],
                        metavar=("FIRST", "LAST"), help="post months (default 2023-01 2023-12)")
    report.add_argument("--measure", default="volume_bbl", choices=["volume_bbl", "mass_t", "value"],
                        help="quantity compared: barrels, tonnes or value (default volume_bbl)")
    report.add_argument("--dataset", default=None,
                        help="dataset to use when several cover the windows (e.g. nrg_ti_coifpm)")
    report.add_argument("--totals", nargs="*", default=None, metavar="DATASET",
                        help="datasets with partner totals that narrow the bounds (default: every "
                             "other statistical dataset holding the two partners, e.g. nrg_ti_oil; "
                             "published figures are always added as a further variant)")
    report.add_argument("--store", default=None, metavar="PATH", nargs="?", const="",
                        help="read the store (at PATH, or $OILFLOWS_HOME / the user data dir) "
                             "instead of the embedded default")
    report.add_argument("--output", default=None, metavar="DIR",
                        help="also write report.md, a self-contained report.html and PNG figures into "
                             "DIR (without matplotlib: the report files without figures)")
    _format_option(report)

    refresh = commands.add_parser(
        "refresh", help="fetch configured datasets into the store", parents=[common],
        description="Fetch the datasets listed in a TOML config (default: Eurostat nrg_ti_coifpm, "
                    "nrg_ti_oilm and nrg_ti_oil for DE and neighbours) and upsert them into the "
                    "store in one atomic write. Exits non-zero if any dataset failed; then nothing "
                    "is written (with --keep-going, the datasets that succeeded are).")
    refresh.add_argument("--config", default=None, help="TOML file of [[dataset]] tables")
    refresh.add_argument("--store", default=None, metavar="PATH", help="store directory")
    refresh.add_argument("--no-progress", action="store_true",
                         help="hide the progress bar (shown only when stderr is a terminal)")
    refresh.add_argument("--keep-going", action="store_true",
                         help="write each dataset as soon as it is fetched and carry on past a failed "
                              "one (default: fetch all, then write all at once or nothing)")

    reconcile = commands.add_parser(
        "reconcile", help="one flow from every source side by side", parents=[common],
        description="Put REPORTER's imports from PARTNER from every source available (the embedded "
                    "default and the store) side by side in tonnes and barrels, with the "
                    "differences and their known causes (confidential cells, origin vs "
                    "consignment, pipelines, units).")
    reconcile.add_argument("--reporter", default="DE", help="importer, ISO alpha-2 (default DE)")
    reconcile.add_argument("--partner", default="KZ", help="partner, ISO alpha-2 (default KZ)")
    reconcile.add_argument("--freq", default="A", choices=["A", "M"], help="annual (default) or monthly")
    reconcile.add_argument("--reference", default=None, help="source/dataset to compare against")
    reconcile.add_argument("--published", default=None, metavar="CSV",
                           help="further published figures: a curated file like "
                                "oilflows/data/published_figures.csv (the embedded default already "
                                "holds those, source 'published', shown with their interval; KEBCO "
                                "figures as a slice of the total), or the older layout period,"
                                "reporter,partner,metric,value,unit,publisher")
    reconcile.add_argument("--store", default=None, metavar="PATH",
                           help="store to include (default: $OILFLOWS_HOME or the user data dir, "
                                "if it exists)")
    reconcile.add_argument("--all", action="store_true", help="show periods with a single source too")
    _format_option(reconcile)

    store = commands.add_parser(
        "store", help="verify or repair the store", parents=[common],
        description="verify: check every file against the manifest (size, sha256, rows) and the "
                    "schema, and the public view against the manifest; exit 1 if data are damaged. "
                    "repair: roll back an interrupted write (delete files no manifest names), "
                    "re-link the public view, move foreign files to _quarantine.")
    store_commands = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    for action in ("verify", "repair"):
        sub = store_commands.add_parser(action, help=f"{action} the store")
        sub.add_argument("--store", default=None, metavar="PATH",
                         help="store directory (default: $OILFLOWS_HOME or the user data dir)")
        if action == "verify":
            sub.add_argument("--quick", action="store_true",
                             help="check presence and sizes only (no hashing, no schema check)")

    info = commands.add_parser("info", help="what the embedded snapshot and the store hold",
                               parents=[common],
                               description="Print the embedded snapshot's provenance, the store's "
                                           "partitions, the store, cache and config paths, and the "
                                           "OILFLOWS_* and credential environment variables in effect "
                                           "(credential values are never printed).")
    info.add_argument("--store", default=None, metavar="PATH",
                      help="store directory (must exist; default: $OILFLOWS_HOME or the user data dir)")
    _format_option(info)

    listing = commands.add_parser(
        "list", help="datasets, reporters or partners in the embedded default or the store",
        parents=[common],
        description="List what the embedded default (or, with --store, the store) holds: datasets "
                    "(every registered source's datasets with title, units, frequency, rows, reporters "
                    "and first and last period held), reporters, or partners (of one --reporter), each "
                    "with its rows and first and last period.")
    listing.add_argument("what", choices=["datasets", "reporters", "partners"])
    listing.add_argument("--source", default=None,
                         help="only this source (eurostat, comext, comtrade, genesis, dg_ener, published)")
    listing.add_argument("--reporter", default=None, help="only this importer's rows")
    listing.add_argument("--dataset", default=None, help="only this dataset (e.g. nrg_ti_coifpm)")
    listing.add_argument("--store", default=None, metavar="PATH", nargs="?", const="",
                         help="list the store (at PATH, or $OILFLOWS_HOME / the user data dir) "
                              "instead of the embedded default")
    _format_option(listing)
    return parser


# -- helpers ------------------------------------------------------------------------------------------


def _quiet(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "quiet", False))


def _note(args: argparse.Namespace, text: str) -> None:
    """An informational line on stderr (not with -q): stdout stays the command's output."""
    if not _quiet(args):
        print(f"oilflows {args.command}: {text}", file=sys.stderr)


def _open_store(path: str | None) -> Store:
    """The store at `path` (None or "": the default path), which must be an existing directory."""
    from .store import Store

    store = Store(path or None)
    if not store.path.is_dir():
        raise StoreError(f"{store.path}: no store there (not a directory)")
    return store


def _code(kind: str, code: str, valid: Iterable[str], hint: str = "", problem: str = "") -> str:
    """`code` in upper case if it is one of `valid`, else an AnalysisError naming the valid codes (or the
    closest ones, when there are many)."""
    code = code.strip().upper()
    valid = sorted(set(valid))
    if code in valid:
        return code
    close = difflib.get_close_matches(code, valid, n=3, cutoff=0.6)
    message = f"{kind} {code!r}: {problem}" if problem else f"unknown {kind} {code!r}"
    if close:
        message += f"; did you mean {' or '.join(close)}?"
    if not valid:
        message += "; there are none"
    elif len(valid) <= 60:
        message += f"; valid: {', '.join(valid)}"
    elif not close:
        message += f" ({len(valid)} codes{hint})"
    raise AnalysisError(message)


def _partners(frame: pd.DataFrame, reporter: str, measure: str | None = None) -> set[str]:
    """Partners of `reporter` with a value of `measure` (or a confidential cell) in `frame`."""
    rows = frame[frame["reporter"] == reporter]
    if measure is not None:
        rows = rows[rows[measure].notna() | rows["flag"].fillna("").str.contains("c", regex=False)]
    return set(rows["partner"])


def _plain(obj: object) -> Any:
    """`obj` as JSON-ready Python: frames as lists of records, timestamps ISO, NaN as null."""
    import math

    import numpy as np
    import pandas as pd

    if isinstance(obj, pd.DataFrame):
        return json.loads(obj.to_json(orient="records", date_format="iso"))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_plain(v) for v in obj]
    if isinstance(obj, pd.Timestamp):
        return None if pd.isna(obj) else obj.isoformat()
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is pd.NaT or obj is pd.NA:
        return None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return obj


def _emit(args: argparse.Namespace, text: str | Callable[[], str], data: object,
          table: pd.DataFrame) -> None:
    """Print the command's result on stdout as text, JSON (`data`) or CSV (`table`, a DataFrame).
    `text` may be a callable, called only for the text format."""
    if args.format == "json":
        print(json.dumps(_plain(data), indent=2, allow_nan=False))
    elif args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    else:
        print(text() if callable(text) else text)


def _columns(table: pd.DataFrame) -> str:
    """A frame as aligned text: numbers right-aligned with thousands separators, text left-aligned."""
    import pandas as pd

    cells = [[f"{v:,}" if pd.api.types.is_integer(v) else str(v) for v in table[c]] for c in table]
    widths = [max(len(c), *(len(v) for v in col)) for c, col in zip(table.columns, cells, strict=True)]
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in table]
    lines = [[v.rjust(w) if n else v.ljust(w) for v, w, n in zip(row, widths, numeric, strict=True)]
             for row in [list(map(str, table.columns)), *zip(*cells, strict=True)]]
    return "\n".join("  ".join(line).rstrip() for line in lines)


# -- commands -----------------------------------------------------------------------------------------


def _report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .report import build_report

    if args.output and Path(args.output).exists() and not Path(args.output).is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory (--output takes a directory)",
                                 args.output)
    if args.store is not None:
        store = _open_store(args.store)
        reporter = _code("reporter", args.reporter, {p["reporter"] for p in store.partitions()},
                         " in the store; `oilflows list reporters --store`")
        frame = store.read(reporter=reporter)
        note = f"oilflows store at {store.path}"
    else:
        from .default import default_provenance, load_default

        # The whole snapshot: the density of a partner's undisclosed grades is read from every
        # reporter's disclosed cells (oilflows.analytics.bounds.density_interval).
        frame = load_default()
        reporter = _code("reporter", args.reporter, frame["reporter"].unique(),
                         "; `oilflows list reporters`")
        prov = default_provenance()
        note = ("embedded default snapshot (" + ", ".join(
            f"{k}: {v[0]}..{v[1]}" for k, v in prov["periods"].items())
            + "); Eurostat nrg_ti_coifpm LAST UPDATE 2024-02-28. Eurostat data (c) European Union, "
              "CC BY 4.0; EU crude oil import register (c) European Union.")
    # A supplier without a value of the measure (or a confidential cell) from this reporter would give
    # a meaningless coverage: refuse it, naming the partners that have data.
    partners = _partners(frame, reporter, args.measure)
    hint = f" with {args.measure} data for {reporter}; `oilflows list partners --reporter {reporter}`"
    problem = f"no {args.measure} data for {reporter}'s imports from it"
    displaced = _code("displaced supplier", args.displaced, partners, hint, problem)
    substitute = _code("substitute", args.substitute, partners, hint, problem)
    if substitute == displaced:
        raise AnalysisError(f"the substitute ({substitute}) must differ from the displaced supplier "
                            f"({displaced})")
    report = build_report(frame, reporter, displaced, substitute,
                          tuple(args.baseline), tuple(args.post), args.measure, args.dataset, note,
                          totals=args.totals)
    if args.output:
        paths = report.write(args.output)
        if "shares" not in paths:
            _note(args, "figures skipped: matplotlib is not installed (pip install 'oilflows[plot]'); "
                        "report.md and report.html written without them")
        _note(args, "wrote " + ", ".join(str(p) for p in paths.values()))
    s = report.substitution
    data = {
        "reporter": s.reporter, "displaced": s.displaced, "substitute": s.substitute,
        "baseline": [f"{t:%Y-%m}" for t in s.baseline], "post": [f"{t:%Y-%m}" for t in s.post],
        "measure": s.measure, "source": s.source, "dataset": s.dataset,
        "shortfall": s.shortfall, "gain": s.gain, "coverage": s.coverage,
        "shortfall_bounds": s.shortfall_bounds, "gain_bounds": s.gain_bounds,
        "coverage_bounds": s.coverage_bounds,
        "bounds": [{"variant": label, "coverage": b.coverage, "gain": b.gain, "shortfall": b.shortfall,
                    "disclosed_coverage": b.disclosed_coverage} for label, b in report.bounds],
        "undisclosed_share": s.undisclosed_share,
        "replacement": s.to_frame(),
        "caveats": s.caveats, "data": report.data_note,
    }
    _emit(args, report.text, data, data["replacement"])
    return EXIT_OK


def _refresh(args: argparse.Namespace) -> int:
    from .refresh import refresh
    from .store import Store

    progress = not (args.no_progress or _quiet(args)) and sys.stderr.isatty()  # no bar in logs or pipes
    result = refresh(args.config, Store(args.store), progress=progress,
                     keep_going=True if args.keep_going else None)
    print(result.summary())
    return 0 if result.ok else 1


def _reconcile(args: argparse.Namespace) -> int:
    from .analytics.reconcile import read_published, reconcile
    from .default import load_default
    from .frames import combine
    from .store import Store

    store: Store | None
    if args.store is not None:
        store = _open_store(args.store)  # a store named on the command line must be there
    else:
        default = Store(None)
        store = default if default.path.is_dir() else None
    every = load_default()
    reporters_known = set(every["reporter"])
    if store is not None:
        reporters_known |= {p["reporter"] for p in store.partitions()}
    reporter = _code("reporter", args.reporter, reporters_known, "; `oilflows list reporters`")
    partner = args.partner.strip().upper()
    reporters = [reporter, partner]
    stored = store.read(reporter=reporters) if store is not None else None
    frame = combine(every[every["reporter"].isin(reporters)], stored)
    partner = _code("partner", partner, _partners(frame, reporter),
                    f"; `oilflows list partners --reporter {reporter}`", f"no imports of {reporter} from it")
    published = None
    if args.published:
        try:
            published = read_published(args.published)
        except OilflowsError:
            raise
        except (ValueError, TypeError, KeyError) as exc:  # a non-number, a bad date, ...
            raise SourceFormatError(args.published, f"cannot read the published figures: "
                                                    f"{type(exc).__name__}: {exc}") from exc
    result = reconcile(frame, reporter, partner=partner, freq=args.freq, reference=args.reference,
                       published=published)
    data = {"reporter": result.reporter, "partner": result.partner, "flow": result.flow,
            "freq": result.freq, "reference": result.reference, "notes": result.notes,
            "rows": result.to_frame()}
    _emit(args, lambda: result.summary(all_periods=args.all), data, data["rows"])
    return EXIT_OK


def _environment() -> dict[str, str]:
    """The OILFLOWS_* and credential variables set, with credential values replaced by ``<set>``."""
    names = sorted(n for n in os.environ if n.startswith("OILFLOWS_")) + \
        [n for n in CREDENTIAL_VARIABLES if n in os.environ]
    return {n: "<set>" if SECRET_NAME.search(n) else os.environ[n] for n in names}


def _info(args: argparse.Namespace) -> int:
    import pandas as pd

    from . import http
    from .default import default_provenance
    from .store import Store

    prov = default_provenance()
    store = _open_store(args.store) if args.store is not None else Store(None)
    exists = store.path.is_dir()
    parts = store.partitions() if exists else []
    cache = http.cache_path()
    env = _environment()
    datasets = {key: {"rows": rows, "first": prov["periods"][key][0], "last": prov["periods"][key][1]}
                for key, rows in prov["rows_by_dataset"].items()}
    config = ("none: `oilflows refresh --config FILE`, else the built-in list "
              "oilflows.refresh.DEFAULT_DATASETS")
    data = {"default": {"rows": prov["rows"], "datasets": datasets},
            "store": {"path": str(store.path), "exists": exists, "partitions": parts},
            "cache": {"path": str(cache), "enabled": http.cache_enabled()},
            "config": None, "environment": env}
    lines = [f"embedded default: {prov['rows']:,} rows"]
    lines += [f"  {key}: {d['rows']:,} rows, {d['first']}..{d['last']}" for key, d in datasets.items()]
    lines.append(f"store {store.path}: {len(parts)} partitions" if exists
                 else f"store {store.path}: not created yet (`oilflows refresh` creates it)")
    lines += [f"  {p['source']}/{p['dataset']}/{p['reporter']}" for p in parts]
    lines.append(f"cache {cache}" + ("" if http.cache_enabled() else " (off: $OILFLOWS_NO_CACHE)"))
    lines.append(f"config: {config}")
    lines.append("environment: " + (", ".join(f"{k}={v}" for k, v in env.items()) if env else
                                    "no OILFLOWS_* or credential variables set"))
    rows = ([("default", k, d["rows"]) for k, d in datasets.items()]
            + [("store", "path", str(store.path))]
            + [("partition", f"{p['source']}/{p['dataset']}/{p['reporter']}", "") for p in parts]
            + [("cache", "path", str(cache)), ("config", "path", "")]
            + [("environment", k, v) for k, v in env.items()])
    _emit(args, "\n".join(lines), data, pd.DataFrame(rows, columns=["section", "name", "value"]))
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from .codes import REGIONS
    from .sources import registry

    chosen = registry.get(args.source) if args.source else None  # an unknown source: one line, did you mean
    if args.store is not None:
        frame = _open_store(args.store).read()
    else:
        from .default import load_default

        frame = load_default()
    if chosen is not None:
        frame = frame[frame["source"] == (chosen.store_source or chosen.id)]
    if args.dataset:
        frame = frame[frame["dataset"] == args.dataset]
    if args.reporter:
        reporter = _code("reporter", args.reporter, frame["reporter"].unique())
        frame = frame[frame["reporter"] == reporter]
    key = {"datasets": ["source", "dataset"], "reporters": ["reporter"], "partners": ["partner"]}[args.what]
    period = frame["period"].dt.strftime("%Y-%m")
    grouped = frame.assign(month=period).groupby(key, observed=True)
    table = grouped.agg(rows=("month", "size"), first=("month", "min"), last=("month", "max"),
                        freq=("freq", lambda x: ",".join(sorted(set(x)))))
    if args.what == "datasets":
        table["reporters"] = grouped["reporter"].nunique()
        table = _with_registry(table.reset_index(), chosen, args.dataset)
    else:
        table["datasets"] = grouped["dataset"].agg(lambda x: ",".join(sorted(set(x))))
    table = table.reset_index(drop=args.what == "datasets")
    if args.what == "partners":
        table["meaning"] = table["partner"].map(REGIONS).fillna("")
    _emit(args, lambda: _columns(table) if len(table) else f"no {args.what}", table, table)
    return EXIT_OK


def _with_registry(held: pd.DataFrame, chosen: Source | None, dataset: str | None) -> pd.DataFrame:
    """`held` (source, dataset, rows, first, last, freq, reporters) with each registered dataset's units
    and title, plus the registered datasets not held (0 rows). Published figures are one dataset per
    publisher in the data, one registration."""
    import pandas as pd

    from .sources import registry

    sources = [chosen] if chosen is not None else list(registry.all_sources())
    by_store = {s.store_source or s.id: s for s in sources}
    held = held.copy()
    held["units"], held["title"] = "", ""
    for i, (source, name) in enumerate(zip(held["source"], held["dataset"], strict=True)):
        src = by_store.get(source)
        if src is None:
            continue
        fallback = src.datasets[0] if source == "published" else None  # one dataset per publisher
        info = next((d for d in src.datasets if d.id == name), fallback)
        if info is not None:
            held.loc[held.index[i], ["units", "title"]] = [",".join(info.units), info.title]
        held.loc[held.index[i], "source"] = src.id
    seen = set(zip(held["source"], held["dataset"], strict=True)) | {
        (s, "published") for s in held["source"] if s == "published"}
    extra = [{"source": s.id, "dataset": d.id, "rows": 0, "first": "", "last": "", "freq": d.freq,
              "reporters": 0, "units": ",".join(d.units), "title": d.title}
             for s in sources for d in s.datasets
             if (s.id, d.id) not in seen and (dataset is None or d.id == dataset)]
    table = pd.concat([held, pd.DataFrame(extra, columns=held.columns)], ignore_index=True) if extra else held
    columns = ["source", "dataset", "units", "freq", "rows", "reporters", "first", "last", "title"]
    return table[columns]


def _store(args: argparse.Namespace) -> int:
    from .errors import StoreError
    from .store import Store

    store = Store(args.store)
    if not store.path.is_dir():  # a mistyped path must not be reported OK, nor created by repair
        raise StoreError(f"{store.path}: no store there (not a directory)")
    if args.store_command == "verify":
        report = store.verify(deep=not args.quick)
        print(report.summary())
        return 0 if report.ok else 1
    print(store.repair().summary())
    return 0


def exit_code(exc: BaseException) -> int:
    """The exit status for an error: 3 network (FetchError and subclasses), 4 store (StoreError, but a
    StoreQueryError - a bad question to the store - is 1), 1 anything else."""
    if isinstance(exc, FetchError):
        return EXIT_NETWORK
    if isinstance(exc, StoreError) and not isinstance(exc, QueryError):
        return EXIT_STORE
    return EXIT_DATA


def _message(exc: BaseException) -> str:
    """One line for `exc`: the oilflows message, the path and problem of an OSError."""
    if isinstance(exc, OilflowsError | ImportError):
        text = str(exc)
    elif isinstance(exc, OSError) and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror or exc}"
        if exc.filename2 is not None:
            text += f" ({exc.filename2})"
    elif isinstance(exc, OSError):
        text = str(exc)
    else:
        text = f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
    return " ".join(text.split())


def _broken_pipe() -> int:
    """stdout was closed early (`oilflows info | head -1`): no traceback, no error at exit. The
    Python recipe: point stdout at /dev/null so that the final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # an in-process stdout without a file descriptor
        pass
    return EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``oilflows`` command; returns the exit status (see :data:`EXIT_DATA` etc.):
    0 ok, 1 data or analysis, 2 usage, 3 network, 4 store, 130 interrupted, 141 stdout closed."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help / --version (0), or a usage error already printed on one line
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    handlers = {"report": _report, "refresh": _refresh, "reconcile": _reconcile, "info": _info,
                "list": _list, "store": _store}
    logger = logging.getLogger("oilflows")
    level = logger.level
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"oilflows {args.command}: %(levelname)s: %(message)s"))
    verbose = getattr(args, "verbose", 0)
    # The library logs retries and cache trouble as warnings, meant for a log, not the console: shown
    # from -v on (with info), debug with -vv; -q silences logging altogether.
    logger.setLevel(logging.CRITICAL + 1 if _quiet(args) else
                    logging.ERROR if not verbose else logging.INFO if verbose == 1 else logging.DEBUG)
    logger.addHandler(handler)
    try:
        status = handlers[args.command](args)
        sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        print(f"oilflows {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"oilflows {args.command}: error: {_message(exc)}", file=sys.stderr)
        return exit_code(exc)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["EXIT_BROKEN_PIPE", "EXIT_DATA", "EXIT_INTERRUPTED", "EXIT_NETWORK", "EXIT_OK",
           "EXIT_STORE", "EXIT_USAGE", "exit_code", "main"]
