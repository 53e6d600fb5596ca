"""The command line: thin wrappers that parse arguments and call the library."""

from __future__ import annotations

import argparse
import sys

from .errors import OilflowsError

DESCRIPTION = """oilflows: where a country's crude oil comes from.

Commands:
  report   how far one supplier replaced another (default: Kazakh for Russian crude in
           Germany, 2021 vs 2023), offline on the embedded snapshot or on your store
  refresh  fetch the configured datasets from the public APIs into the store
  reconcile  one flow (e.g. DE imports from KZ) from every source side by side, in tonnes
  info     what the embedded snapshot and the store hold
  store    verify the store's files against its manifest, or repair an interrupted write
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oilflows", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__

    parser.add_argument("--version", action="version", version=f"oilflows {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = commands.add_parser(
        "report", help="substitution report (offline on the embedded default)",
        description="How far did SUBSTITUTE replace DISPLACED in REPORTER's crude imports? "
                    "Leads with the coverage interval the data identify (every split of the "
                    "confidential cells allowed), narrowed by partner totals and published "
                    "figures; then shortfall, gain, the disclosed-cells coverage, who replaced the "
                    "displaced supplier, the undisclosed share, and caveats.")
    report.add_argument("--reporter", default="DE", help="importer, ISO alpha-2 (default DE)")
    report.add_argument("--displaced", default="RU", help="supplier that was lost (default RU)")
    report.add_argument("--substitute", default="KZ", help="supplier examined (default KZ)")
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
                        help="also write report.md, report.html and PNG figures into DIR")

    refresh = commands.add_parser(
        "refresh", help="fetch configured datasets into the store",
        description="Fetch the datasets listed in a TOML config (default: Eurostat nrg_ti_coifpm, "
                    "nrg_ti_oilm and nrg_ti_oil for DE and neighbours) and upsert them into the "
                    "store in one atomic write. Exits non-zero if any dataset failed; then nothing "
                    "is written (with --keep-going, the datasets that succeeded are).")
    refresh.add_argument("--config", default=None, help="TOML file of [[dataset]] tables")
    refresh.add_argument("--store", default=None, metavar="PATH", help="store directory")
    refresh.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    refresh.add_argument("--keep-going", action="store_true",
                         help="write each dataset as soon as it is fetched and carry on past a failed "
                              "one (default: fetch all, then write all at once or nothing)")

    reconcile = commands.add_parser(
        "reconcile", help="one flow from every source side by side",
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

    store = commands.add_parser(
        "store", help="verify or repair the store",
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
                               description="Print the embedded snapshot's provenance and the "
                                           "store's partitions.")
    info.add_argument("--store", default=None, metavar="PATH", help="store directory")
    return parser


def _report(args: argparse.Namespace) -> int:
    from .report import build_report

    if args.store is not None:
        from .store import Store

        store = Store(args.store or None)
        frame = store.read(reporter=args.reporter)
        note = f"oilflows store at {store.path}"
    else:
        from .default import default_provenance, load_default

        # The whole snapshot: the density of a partner's undisclosed grades is read from every
        # reporter's disclosed cells (oilflows.analytics.bounds.density_interval).
        frame = load_default()
        prov = default_provenance()
        note = ("embedded default snapshot (" + ", ".join(
            f"{k}: {v[0]}..{v[1]}" for k, v in prov["periods"].items())
            + "); Eurostat nrg_ti_coifpm LAST UPDATE 2024-02-28. Eurostat data (c) European Union, "
              "CC BY 4.0; EU crude oil import register (c) European Union.")
    report = build_report(frame, args.reporter, args.displaced, args.substitute,
                          tuple(args.baseline), tuple(args.post), args.measure, args.dataset, note,
                          totals=args.totals)
    print(report.text())
    if args.output:
        paths = report.write(args.output)
        print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from .refresh import refresh
    from .store import Store

    result = refresh(args.config, Store(args.store), progress=not args.no_progress,
                     keep_going=True if args.keep_going else None)
    print(result.summary())
    return 0 if result.ok else 1


def _reconcile(args: argparse.Namespace) -> int:
    from .analytics.reconcile import read_published, reconcile
    from .default import load_default
    from .frames import combine
    from .store import Store

    reporters = [args.reporter, args.partner]
    store = Store(args.store)
    stored = store.read(reporter=reporters) if store.path.exists() else None
    frame = combine(load_default(reporter=reporters), stored)
    published = read_published(args.published) if args.published else None
    result = reconcile(frame, args.reporter, args.partner, args.freq, reference=args.reference,
                       published=published)
    print(result.summary(all_periods=args.all))
    return 0


def _info(args: argparse.Namespace) -> int:
    from .default import default_provenance
    from .store import Store

    prov = default_provenance()
    print(f"embedded default: {prov['rows']:,} rows")
    for key, rows in prov["rows_by_dataset"].items():
        first, last = prov["periods"][key]
        print(f"  {key}: {rows:,} rows, {first}..{last}")
    store = Store(args.store)
    parts = store.partitions()
    print(f"store {store.path}: {len(parts)} partitions")
    for part in parts:
        print(f"  {part['source']}/{part['dataset']}/{part['reporter']}")
    return 0


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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``oilflows`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    handlers = {"report": _report, "refresh": _refresh, "reconcile": _reconcile, "info": _info,
                "store": _store}
    try:
        return handlers[args.command](args)
    except OilflowsError as exc:
        print(f"oilflows {args.command}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
