"""Panel-wide runs: substitution, concentration and counterfactuals for every reporter and origin.

The frame is grouped once by (source, dataset, reporter); each task receives only its slice (the
crude-oil import rows of one reporter in one dataset, with the columns the analytics read) and
returns plain records, so little is pickled either way. Tasks run on any executor of
:mod:`oilflows.analytics.executor` (local processes by default, ``"serial"``, a
``concurrent.futures.Executor`` or a ``dask.distributed.Client``); the output order follows the
sorted keys (or the order of the series given), never the order in which workers finish.

A task that fails (e.g. :class:`~oilflows.errors.AnalysisError`: too few observations, no data in a
window) is recorded in the result's table (``error_type``, ``error``), not raised, unless
``on_error="raise"``. Parameters that are wrong for every task raise before any work starts.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ..errors import AnalysisError, SchemaError
from ..schema import WORLD
from ._panel import UNDISCLOSED, Panel, build_panel, check_measure, display, matching, pct, window
from ._plot import pyplot
from ._result import Result, summary_method
from ._signature import call_forms
from .bounds import pair_bounds
from .concentration import concentration
from .counterfactual import (
    DISPLACED_BASELINES,
    MODELS,
    TARGETS,
    counterfactual,
    counterfactual_on_panel,
)
from .executor import check_executor, default_workers, describe, map_tasks
from .substitution import substitution

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: Columns a task's slice keeps: what build_panel and the analytics read, besides the measure.
SLICE_COLUMNS = ("source", "dataset", "reporter", "partner", "product", "grade", "flow", "freq",
                 "period", "flag")
GROUP = ("source", "dataset", "reporter")
ERROR_COLUMNS = ("error_type", "error")
ON_ERROR = ("record", "raise")
MAX_CHUNK = 16  # default maximum of counterfactual series per task (8 before issue 15)
#: Column types of the records (figures are float64; NaN/NA/NaT in the records of failed tasks).
COUNT_COLUMNS = ("confidential_baseline", "confidential_post", "baseline_months", "post_months",
                 "months", "n_suppliers", "pre_months", "post_months")
DATE_COLUMNS = ("period", "shock", "pre_start", "pre_end", "post_start", "post_end")
TEXT_COLUMNS = ("source", "dataset", "reporter", "partner", "role", "displaced", "freq", "top_supplier",
                "spec", "fit_notes", "substitute", "note", "method", *ERROR_COLUMNS)


# -- slicing the frame ----------------------------------------------------------------------------


def _slices(frame: pd.DataFrame, measure: str, dataset: str | None = None,
            reporters: Iterable[str] | None = None) -> dict[tuple[str, str, str], _Slice]:
    """Crude-oil import rows per (source, dataset, reporter) with a WORLD total of `measure`."""
    missing = [c for c in (*SLICE_COLUMNS, measure) if c not in frame.columns]
    if missing:
        raise SchemaError(f"frame is not a canonical frame: column(s) {missing} missing")
    rows = frame[(frame["flow"] == "import") & (frame["product"] == "crude_oil")]
    if reporters is not None:
        rows = rows[rows["reporter"].isin(_names(reporters))]
    world = rows[(rows["partner"] == WORLD) & rows[measure].notna()]
    present = sorted(set(zip(world["source"], world["dataset"], world["reporter"], strict=True)))
    pairs = set(matching(sorted({(s, d) for s, d, _ in present}), dataset))
    wanted = {k for k in present if k[:2] in pairs}
    if not wanted:
        return {}
    rows = rows[rows["dataset"].isin({k[1] for k in wanted})
                & rows["reporter"].isin({k[2] for k in wanted})]
    out = {}
    rows = rows[[*SLICE_COLUMNS, measure]]
    dtypes = _Slice.text_dtypes(rows)
    # Text columns become categoricals once for the whole frame, not once per slice (issue 15).
    rows = rows.astype(dict.fromkeys(dtypes, "category"))
    for key, part in rows.groupby(list(GROUP), sort=True, observed=True):
        if key in wanted:
            out[key] = _Slice(part.reset_index(drop=True), dtypes)
    return out


@dataclass(frozen=True)
class _Slice:
    """A task's rows with text columns as categoricals: about a tenth of the pickled size of
    Arrow-backed strings, which pickle one value at a time. :meth:`unpack` restores the dtypes."""

    rows: pd.DataFrame
    dtypes: dict

    @staticmethod
    def text_dtypes(rows: pd.DataFrame) -> dict:
        """The dtypes of the columns of `rows` that are neither numeric nor datetimes."""
        return {c: rows[c].dtype for c in rows.columns
                if not (pd.api.types.is_numeric_dtype(rows[c])
                        or pd.api.types.is_datetime64_any_dtype(rows[c]))}

    @classmethod
    def pack(cls, rows: pd.DataFrame) -> _Slice:
        dtypes = cls.text_dtypes(rows)
        return cls(rows.astype(dict.fromkeys(dtypes, "category")), dtypes)

    def unpack(self) -> pd.DataFrame:
        return self.rows.astype(self.dtypes)

    def __len__(self) -> int:
        return len(self.rows)


def _names(values: str | Iterable[str]) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _key_fields(key: tuple[str, str, str]) -> dict[str, str]:
    return dict(zip(GROUP, key, strict=True))


def _error_record(fields: dict, exc: BaseException) -> dict:
    return {**fields, "error_type": type(exc).__name__, "error": str(exc)}


def _check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise AnalysisError(f"on_error must be one of {list(ON_ERROR)}, got {on_error!r}")


# -- the tasks (module level: pickled by reference) -----------------------------------------------


def _substitution_task(part: _Slice, key: tuple[str, str, str], options: dict,
                       on_error: str) -> list[dict]:
    fields = _key_fields(key)
    rows = part.unpack()
    try:
        res = substitution(rows, key[2], substitute=options["displaced"],
                           dataset=f"{key[0]}/{key[1]}", **options)
    except Exception as exc:
        if on_error == "raise":
            raise
        return [_error_record(fields, exc)]
    table = res.replacement
    common = {
        "displaced": res.displaced, "shortfall": res.shortfall,
        "baseline_months": res.baseline_months, "post_months": res.post_months,
        "undisclosed_share_baseline": res.undisclosed_share["baseline"],
        "undisclosed_share_post": res.undisclosed_share["post"],
        "identity_residual": res.identity_residual,
    }
    records = []
    for partner, row in table.iterrows():
        role = ("displaced" if partner == res.displaced else "total" if partner == WORLD
                else "undisclosed" if partner == UNDISCLOSED else "partner")
        records.append({
            **fields, "partner": partner, "role": role,
            **{c: float(row[c]) for c in ("baseline_mean", "post_mean", "change", "baseline_total",
                                          "post_total", "share_of_shortfall")},
            "confidential_baseline": int(row["confidential_baseline"]),
            "confidential_post": int(row["confidential_post"]),
            **common, "error_type": None, "error": None,
        })
    return records


def _concentration_task(part: _Slice, key: tuple[str, str, str], options: dict,
                        on_error: str) -> list[dict]:
    fields = _key_fields(key)
    rows = part.unpack()
    try:
        res = concentration(rows, key[2], dataset=f"{key[0]}/{key[1]}", **options)
    except Exception as exc:
        if on_error == "raise":
            raise
        return [_error_record(fields, exc)]
    table = res.table.copy()
    quantities = res.quantities.reindex(table.index)
    has = table["disclosed"] > 0
    top = quantities.fillna(0.0).idxmax(axis=1) if quantities.shape[1] else pd.Series(None, table.index)
    table["top_supplier"] = top.where(has, None)
    table["top_share_world"] = (quantities.max(axis=1) / res.world).where(has)
    table["freq"] = res.freq
    table = table.reset_index()
    return [{**fields, **record, "error_type": None, "error": None}
            for record in table.to_dict("records")]


def _counterfactual_task(part: _Slice, key: tuple[str, str, str],
                         specs: list[tuple[int, SeriesSpec]], options: dict, on_error: str
                         ) -> list[dict]:
    rows = part.unpack()
    out = []
    dataset = f"{key[0]}/{key[1]}"
    try:  # one panel for every series of the task (issue 15): it depends on the reporter only
        panel: Panel | Exception = build_panel(rows, key[2], str(options.get("measure", "volume_bbl")),
                                               "M", dataset)
    except Exception as exc:
        if on_error == "raise":
            raise
        panel = exc
    for position, spec in specs:
        fields = {"position": position, **_key_fields(key), "partner": spec.partner,
                  "shock": pd.Timestamp(spec.shock)}
        try:
            if isinstance(panel, Exception):
                raise panel
            res = counterfactual_on_panel(panel, spec.partner, shock=spec.shock, pre=spec.pre,
                                          post=spec.post, dataset=dataset, **options)
        except Exception as exc:
            if on_error == "raise":
                raise
            out.append(_error_record(fields, exc))
            continue
        lo, hi = res.cumulative_interval
        c_lo, c_hi = res.coverage_interval
        notes = [c for c in res.caveats if c.startswith("statsmodels") or "convergence" in c]
        out.append({
            **fields, "shock": res.shock, "pre_start": res.pre[0], "pre_end": res.pre[1],
            "post_start": res.post[0], "post_end": res.post[1],
            "pre_months": res.pre_months_used, "post_months": res.post_months_used,
            "cumulative_excess": res.cumulative_excess, "cumulative_lower": lo, "cumulative_upper": hi,
            "mean_excess": res.mean_excess, "displaced": res.displaced, "coverage": res.coverage,
            "coverage_lower": c_lo, "coverage_upper": c_hi, "shortfall": res.shortfall,
            "undisclosed_share_pre": res.undisclosed_share["pre"],
            "undisclosed_share_post": res.undisclosed_share["post"],
            "spec": res.spec, "fit_notes": "; ".join(notes) or None,
            "error_type": None, "error": None,
        })
    return out


def _split(items: list, size: int) -> list[list]:
    """`items` in ``ceil(len / size)`` consecutive parts of near-equal length (at most `size`)."""
    n = -(-len(items) // size)
    if n == 0:
        return []
    bounds = [round(i * len(items) / n) for i in range(n + 1)]
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# -- the result -----------------------------------------------------------------------------------


class _Records:
    """What a panel run's result does with its ``table`` of records (one per task output; a failed
    task's rows carry ``error_type`` and ``error``)."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The records, one per row (failed tasks included, with ``error_type`` and ``error``)."""
        return self.table.copy()

    @property
    def ok(self) -> pd.DataFrame:
        """The records of the tasks that succeeded."""
        return self.table[self.table["error"].isna()].reset_index(drop=True)


@dataclass
class PanelResult(_Records, Result):
    """The result of a panel run (:func:`panel_substitution`, :func:`panel_concentration`,
    :func:`panel_counterfactual`).

    Attributes
    ----------
    analysis : {"substitution", "concentration", "counterfactual"}
    table : pandas.DataFrame
        Tidy records, in a deterministic order; quantities in the measure's base unit (barrels,
        tonnes, currency units). ``error_type``/``error`` are set (and the figures NaN) for a task
        that failed; see each function for its columns.
    keys : tuple of str
        The columns that identify a row.
    parameters : dict
        The analysis' arguments, as used.
    executor : str
        What ran the tasks (e.g. ``"processes (2 workers)"``).
    n_tasks : int
        Tasks shipped to the executor.
    seconds : float
        Wall-clock time of the run (slicing, shipping, computing, gathering), seconds.
    caveats : list of str
    """

    analysis: str
    table: pd.DataFrame
    keys: tuple[str, ...]
    parameters: dict
    executor: str
    n_tasks: int
    seconds: float
    caveats: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("analysis", "n_tasks", "executor", "table")}

    @property
    def errors(self) -> pd.DataFrame:
        """The failed tasks: their key columns, ``error_type`` and ``error``."""
        failed = self.table[self.table["error"].notna()]
        return failed[[c for c in (*self.keys, *ERROR_COLUMNS) if c in failed]].reset_index(drop=True)

    @summary_method
    def summary(self, top: int = 3) -> str:
        """Plain text: what ran where, the key figures per reporter or series, and the failures."""
        units = self.units()
        params = ", ".join(f"{k}={v}" for k, v in self.parameters.items())
        failed = self.errors
        lines = [
            f"Panel {self.analysis} run: {self.n_tasks} task(s) on {self.executor}, {self.seconds:.2f} s",
            f"parameters: {params}",
            f"records: {len(self.table)} ({len(failed)} failed, recorded with their error)",
            "",
        ]
        lines += getattr(self, f"_summary_{self.analysis}")(top, units)
        if len(failed):
            lines += ["", "Failures (recorded, not raised; to_frame() has every message):"]
            for kind, group in failed.groupby("error_type", sort=True):
                where = ", ".join("/".join(_label(v) for v in row if not pd.isna(v)) for row in
                                  group[[c for c in self.keys if c in group]].to_numpy()[:6])
                more = f" and {len(group) - 6} more" if len(group) > 6 else ""
                lines.append(f"- {kind} x{len(group)}: {where}{more}")
                lines += [f"    e.g. {m}" for m in group["error"].drop_duplicates().iloc[:2]]
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def units(self) -> tuple[str, float]:
        """(label, divisor) in which summary() shows quantities."""
        return display(self.parameters.get("measure", "volume_bbl"))

    def _summary_substitution(self, top: int, units: tuple[str, float]) -> list[str]:
        unit, div = units
        lines = [f"{'source/dataset':<24}{'reporter':<9}{'shortfall/month':>16}{'undiscl.post':>13}"
                 f"  top replacements (share of the shortfall); {unit}"]
        ok = self.ok
        for (source, dataset, reporter), group in ok.groupby(list(GROUP), sort=False):
            partners = group[group["role"] == "partner"].dropna(subset=["share_of_shortfall"])
            best = partners.nlargest(top, "share_of_shortfall")
            text = ", ".join(f"{p} {s:.0%}" for p, s in zip(best["partner"], best["share_of_shortfall"],
                                                              strict=True))
            first = group.iloc[0]
            lines.append(f"{source + '/' + dataset:<24}{reporter:<9}{first['shortfall'] / div:>16,.0f}"
                         f"{first['undisclosed_share_post']:>13.1%}  {text or 'n/a'}")
        return lines

    def _summary_concentration(self, top: int, units: tuple[str, float]) -> list[str]:
        lines = [f"{'source/dataset':<24}{'reporter':<9}{'periods':>8}{'first':>9}{'last':>9}"
                 f"{'HHI first':>10}{'HHI last':>9}{'min':>7}{'max':>7}{'max undiscl.':>13}"]
        fmt = "%Y" if self.parameters.get("freq") == "A" and not self.parameters.get("rolling") else "%Y-%m"
        ok = self.ok.dropna(subset=["hhi_world"])
        for (source, dataset, reporter), group in ok.groupby(list(GROUP), sort=False):
            h = group["hhi_world"]
            lines.append(
                f"{source + '/' + dataset:<24}{reporter:<9}{len(group):>8}"
                f"{group['period'].iloc[0].strftime(fmt):>9}{group['period'].iloc[-1].strftime(fmt):>9}"
                f"{h.iloc[0]:>10,.0f}{h.iloc[-1]:>9,.0f}{h.min():>7,.0f}{h.max():>7,.0f}"
                f"{group['undisclosed_share'].max():>13.1%}")
        empty = sorted(_keys(self.ok) - _keys(ok))
        if empty:
            lines.append("no disclosed partner in any period (indices NaN): "
                         + ", ".join(f"{d}:{r}" for _, d, r in empty))
        lines.append("(HHI in points, shares of WORLD: a lower bound where volume is undisclosed; "
                     "to_frame() has hhi_world_max and the disclosed basis)")
        return lines

    def _summary_counterfactual(self, top: int, units: tuple[str, float]) -> list[str]:
        ok = self.ok
        if ok.empty:
            return ["no series succeeded"]
        above = (ok["cumulative_lower"] > 0).sum()
        below = (ok["cumulative_upper"] < 0).sum()
        lines = [f"{len(ok)} series fitted ({self.parameters.get('level', '95%')} intervals): "
                 f"cumulative excess above the counterfactual in {above}, below in {below}, "
                 f"interval containing 0 in {len(ok) - above - below}",
                 f"pre-window observed months: median {ok['pre_months'].median():.0f}, "
                 f"min {ok['pre_months'].min()}; series with optimiser/statsmodels notes: "
                 f"{int(ok['fit_notes'].notna().sum())}"]
        by = ok.groupby(["source", "dataset"], sort=True).size()
        lines += [f"- {s}/{d}: {n} series" for (s, d), n in by.items()]
        return lines

    def plot(self, ax: Axes | None = None, top: int = 12) -> Axes:
        """substitution: heat map of shares of the shortfall; concentration: HHI per reporter;
        counterfactual: histogram of the cumulative excess over its interval half-width."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5))
        ok = self.ok
        if self.analysis == "substitution":
            data = ok[ok["role"] == "partner"].pivot_table(
                index=["dataset", "reporter"], columns="partner", values="share_of_shortfall")
            order = data.abs().mean().sort_values(ascending=False).index[:top]
            data = data[order]
            image = ax.imshow(data.to_numpy(dtype=float), cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
            ax.set_xticks(range(len(order)), order, rotation=90)
            ax.set_yticks(range(len(data)), [f"{d}:{r}" for d, r in data.index])
            ax.figure.colorbar(image, ax=ax, label="share of the shortfall")
            ax.set_title(f"who replaced {self.parameters.get('displaced')} (colours clipped to +-1)")
        elif self.analysis == "concentration":
            shown = ok.dropna(subset=["hhi_world"])
            counts = shown.groupby(list(GROUP)).size().sort_values(ascending=False)
            for key in counts.index[:top]:
                part = shown.set_index(list(GROUP)).loc[key]
                ax.plot(part["period"], part["hhi_world"], marker=".", label=f"{key[1]}:{key[2]}")
            ax.set_ylabel("HHI (points), shares of WORLD")
            ax.legend(fontsize="x-small", ncol=2)
            ax.set_title("supplier concentration per reporter")
        else:
            half = (ok["cumulative_upper"] - ok["cumulative_lower"]) / 2
            ratio = (ok["cumulative_excess"] / half.replace(0, np.nan)).dropna()
            ax.hist(ratio.clip(-5, 5), bins=40, color="#2166ac")
            for x in (-1, 1):
                ax.axvline(x, color="#b2182b", linewidth=0.8)
            ax.set_xlabel("cumulative excess / interval half-width (beyond +-1: the interval "
                          "excludes 0; clipped to +-5)")
            ax.set_ylabel("series")
            ax.set_title(f"{len(ratio)} counterfactual series")
        return ax


def _label(value: object) -> str:
    return f"{value:%Y-%m}" if isinstance(value, pd.Timestamp) else str(value)


def _keys(table: pd.DataFrame) -> set[tuple]:
    return set(zip(*(table[c] for c in GROUP), strict=True))


def _records_frame(records: list[dict], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(columns))
    for c in frame.columns:
        if c in COUNT_COLUMNS:
            frame[c] = frame[c].astype("Int64")
        elif c in DATE_COLUMNS:
            frame[c] = pd.to_datetime(frame[c]).astype("datetime64[s]")
        elif c in TEXT_COLUMNS:
            frame[c] = _text(frame[c])
    return frame


def _text(column: pd.Series) -> pd.Series:
    """Text with missing kept missing: pandas 3's "str" dtype; on pandas 2 ``astype(str)`` would turn
    None into the string "None", so the values are converted one by one there."""
    if int(pd.__version__.split(".")[0]) >= 3:
        return column.astype("str")
    return column.map(lambda v: None if pd.isna(v) else str(v)).astype(object)


def _flatten(outputs: list[list[dict]]) -> list[dict]:
    return [record for output in outputs for record in output]


def _missing_reporters(reporters: Iterable[str] | None, slices: dict, measure: str,
                       dataset: str | None) -> list[dict]:
    if reporters is None:
        return []
    reporters = _names(reporters)
    have = {k[2] for k in slices}
    where = f" in dataset {dataset!r}" if dataset else ""
    return [{"source": None, "dataset": None, "reporter": r, "error_type": AnalysisError.__name__,
             "error": f"no crude-oil import rows with a WORLD total of {measure} for reporter {r}{where}"}
            for r in dict.fromkeys(reporters) if r not in have]


def _no_tasks(measure: str, dataset: str | None) -> AnalysisError:
    where = f" dataset {dataset!r}" if dataset else " the frame"
    return AnalysisError(f"no reporter in{where} has a WORLD total of {measure} for crude-oil imports")


def _before_after_slices(frame: pd.DataFrame, measure: str, dataset: str | None,
                         reporters: Iterable[str] | None, baseline: tuple[str, str],
                         post: tuple[str, str], executor: object, max_workers: int | None,
                         on_error: str) -> dict:
    """The checks of a before-after panel run (measure, executor, ``on_error``, the post window
    after the baseline) and its frame's slices by (source, dataset, reporter)."""
    check_measure(measure)
    check_executor(executor, max_workers)
    _check_on_error(on_error)
    _, hi_b = window(baseline)
    lo_p, _ = window(post)
    if lo_p <= hi_b:
        raise AnalysisError(f"post window {post} must start after the baseline {baseline} ends")
    slices = _slices(frame, measure, dataset, reporters)
    if not slices and reporters is None:
        raise _no_tasks(measure, dataset)
    return slices


# -- substitution and concentration -----------------------------------------------------------------

SUBSTITUTION_COLUMNS = (
    "source", "dataset", "reporter", "partner", "role", "baseline_mean", "post_mean", "change",
    "baseline_total", "post_total", "share_of_shortfall", "confidential_baseline", "confidential_post",
    "displaced", "shortfall", "baseline_months", "post_months", "undisclosed_share_baseline",
    "undisclosed_share_post", "identity_residual", *ERROR_COLUMNS)


@call_forms(old_positional=("displaced", "baseline", "post", "measure", "dataset", "reporters", "executor",
                            "max_workers", "on_error"))
def panel_substitution(
    frame: pd.DataFrame,
    *,
    displaced: str,
    baseline: tuple[str, str] = ("2021-01", "2021-12"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    measure: str = "volume_bbl",
    dataset: str | None = None,
    reporters: Iterable[str] | None = None,
    executor: object = None,
    max_workers: int | None = None,
    on_error: str = "record",
) -> PanelResult:
    """:func:`~oilflows.analytics.substitution` for every reporter (and dataset) of `frame`.

    One task per (source, dataset, reporter) with a WORLD total of `measure`; each returns the
    replacement table of :func:`substitution`: one row per partner (every origin), plus the
    ``undisclosed`` residual and ``WORLD``.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame (:func:`oilflows.load_default`, :meth:`oilflows.Store.read`, ...).
    displaced : str
        The partner whose shortfall is shared out (ISO alpha-2).
    baseline, post : tuple of str
        Inclusive month windows ``("YYYY-MM", "YYYY-MM")``.
    measure : {"volume_bbl", "mass_t", "value"}
        Barrels, tonnes, or value in the source's currency.
    dataset : str, optional
        Only this ``"dataset"`` or ``"source/dataset"``; default: every dataset (each separately,
        never summed).
    reporters : iterable of str, optional
        Only these reporters; one without data gets an error record.
    executor : None, "processes", "serial", concurrent.futures.Executor or dask Client
        Where the tasks run; see :mod:`oilflows.analytics.executor`.
    max_workers : int, optional
        Processes of the default pool.
    on_error : {"record", "raise"}
        Record a failed task (default) or raise its exception.

    Returns
    -------
    PanelResult
        ``table`` columns: ``source, dataset, reporter, partner, role`` (``displaced``, ``partner``,
        ``undisclosed`` or ``total`` for WORLD), monthly means ``baseline_mean, post_mean, change``
        and window totals ``baseline_total, post_total`` (base unit), ``share_of_shortfall`` (=
        ``substitution(..., substitute=partner).coverage``; the WORLD row holds the demand-reduction
        part), confidential cell counts, and the reporter's ``shortfall`` (per month),
        ``baseline_months, post_months``, undisclosed shares of WORLD and ``identity_residual``.
    """
    start = time.perf_counter()
    slices = _before_after_slices(frame, measure, dataset, reporters, baseline, post, executor,
                                  max_workers, on_error)
    options = {"displaced": displaced, "baseline": tuple(baseline), "post": tuple(post),
               "measure": measure}
    tasks = [(rows, key, options, on_error) for key, rows in slices.items()]
    outputs = map_tasks(_substitution_task, tasks, executor, max_workers)
    records = _flatten(outputs) + _missing_reporters(reporters, slices, measure, dataset)
    table = _records_frame(records, SUBSTITUTION_COLUMNS)
    return PanelResult(
        analysis="substitution", table=table, keys=("source", "dataset", "reporter", "partner"),
        parameters={**options, "dataset": dataset}, executor=describe(executor, len(tasks), max_workers),
        n_tasks=len(tasks), seconds=time.perf_counter() - start,
        caveats=["Partners are countries of origin; undisclosed (confidential) volume is its own row "
                 "and disclosed figures are lower bounds.",
                 "Each dataset is analysed on its own: a reporter in two datasets appears twice."])


@call_forms(old_positional=("measure", "freq", "k", "rolling", "dataset", "reporters", "executor",
                            "max_workers", "on_error"))
def panel_concentration(
    frame: pd.DataFrame,
    *,
    measure: str = "volume_bbl",
    freq: str = "A",
    k: int = 3,
    rolling: int | None = None,
    dataset: str | None = None,
    reporters: Iterable[str] | None = None,
    executor: object = None,
    max_workers: int | None = None,
    on_error: str = "record",
) -> PanelResult:
    """:func:`~oilflows.analytics.concentration` for every reporter (and dataset) of `frame`.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    measure, freq, k, rolling
        As in :func:`~oilflows.analytics.concentration` (annual by default: native annual data, or
        monthly data summed per calendar year).
    dataset, reporters, executor, max_workers, on_error
        As in :func:`panel_substitution`.

    Returns
    -------
    PanelResult
        ``table``: one row per (source, dataset, reporter, period) with the columns of
        :class:`~oilflows.analytics.ConcentrationResult` ``.table`` (``months, world, disclosed,
        undisclosed, undisclosed_share, n_suppliers``, HHI in points on both bases with
        ``hhi_world_max``, effective N, Shannon, evenness, ``cr{k}``), plus ``top_supplier`` and
        its ``top_share_world``, and ``freq``.
    """
    check_measure(measure)
    check_executor(executor, max_workers)
    _check_on_error(on_error)
    if freq not in ("M", "A"):
        raise AnalysisError(f"freq must be 'M' or 'A', got {freq!r}")
    if int(k) != k or k < 1:
        raise AnalysisError(f"k must be a positive integer, got {k!r}")
    if rolling is not None and (freq != "M" or int(rolling) != rolling or rolling < 2):
        raise AnalysisError(f"rolling must be an integer number of months >= 2 with freq='M', got "
                            f"rolling={rolling!r}, freq={freq!r}")
    start = time.perf_counter()
    slices = _slices(frame, measure, dataset, reporters)
    if not slices and reporters is None:
        raise _no_tasks(measure, dataset)
    options = {"measure": measure, "freq": freq, "k": int(k), "rolling": rolling}
    tasks = [(rows, key, options, on_error) for key, rows in slices.items()]
    outputs = map_tasks(_concentration_task, tasks, executor, max_workers)
    records = _flatten(outputs) + _missing_reporters(reporters, slices, measure, dataset)
    indices = [f"{name}_{basis}" for name in ("hhi", "effective_n", "shannon", "evenness", f"cr{int(k)}")
               for basis in ("world", "disclosed")]
    columns = ("source", "dataset", "reporter", "period", "freq", "months", "world", "disclosed",
               "undisclosed", "undisclosed_share", "n_suppliers", "hhi_world", "hhi_world_max",
               *[c for c in indices if c != "hhi_world"], "top_supplier", "top_share_world",
               *ERROR_COLUMNS)
    table = _records_frame(records, columns)
    return PanelResult(
        analysis="concentration", table=table, keys=("source", "dataset", "reporter", "period"),
        parameters={**options, "dataset": dataset}, executor=describe(executor, len(tasks), max_workers),
        n_tasks=len(tasks), seconds=time.perf_counter() - start,
        caveats=["The undisclosed residual is never a supplier: hhi_world is a lower bound, "
                 "hhi_world_max an upper bound; HHI depends on how the source codes partners."])


# -- counterfactuals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesSpec:
    """One counterfactual series: `partner`'s imports into `reporter` in `dataset`, and the windows.

    ``dataset`` is ``"dataset"`` or ``"source/dataset"``; ``shock``, ``post`` and ``pre`` are as in
    :func:`~oilflows.analytics.counterfactual` (``pre=None``: from the first month with a partner
    breakdown to the month before the shock).
    """

    reporter: str
    partner: str
    dataset: str
    shock: str
    post: tuple[str, str]
    pre: tuple[str, str] | None = None


@call_forms(old_positional=("dataset", "shock", "post", "pre", "measure", "min_months", "reporters"))
def counterfactual_series(
    frame: pd.DataFrame,
    *,
    dataset: str,
    shock: str,
    post: tuple[str, str],
    pre: tuple[str, str] | None = None,
    measure: str = "volume_bbl",
    min_months: int = 24,
    reporters: Iterable[str] | None = None,
) -> list[SeriesSpec]:
    """Every (reporter, partner) series of `dataset` with enough pre-shock observations.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    dataset : str
        ``"dataset"`` or ``"source/dataset"``.
    shock, post, pre
        The windows every series gets (see :class:`SeriesSpec`).
    measure : {"volume_bbl", "mass_t", "value"}
    min_months : int
        Keep a partner if it has a positive disclosed `measure` in at least this many distinct months
        of the pre window (before `shock` when `pre` is None). Months without a delivery count as 0
        in the model, but a series that is mostly zeros says little; seasonal SARIMA needs 24.
    reporters : iterable of str, optional
        Only these reporters.

    Returns
    -------
    list of SeriesSpec
        Sorted by source, dataset, reporter, partner (``dataset`` as ``"source/dataset"``).
    """
    check_measure(measure)
    if int(min_months) != min_months or min_months < 1:
        raise AnalysisError(f"min_months must be a positive integer, got {min_months!r}")
    shock_ts = pd.Timestamp(window((shock, shock))[0])
    lo, hi = window(pre) if pre is not None else (None, shock_ts - pd.DateOffset(months=1))
    rows = frame[(frame["flow"] == "import") & (frame["product"] == "crude_oil") & (frame["freq"] == "M")
                 & (frame["partner"] != WORLD) & (frame[measure] > 0) & (frame["period"] <= hi)]
    if lo is not None:
        rows = rows[rows["period"] >= lo]
    pairs = set(matching(sorted(set(zip(rows["source"], rows["dataset"], strict=True))), dataset))
    if not pairs:
        raise AnalysisError(f"no monthly {measure} partner data of dataset {dataset!r} before {shock}")
    rows = rows[[p in pairs for p in zip(rows["source"], rows["dataset"], strict=True)]]
    if reporters is not None:
        rows = rows[rows["reporter"].isin(_names(reporters))]
    months = rows.groupby(["source", "dataset", "reporter", "partner"], sort=True)["period"].nunique()
    months = months[months >= min_months]
    # tuple() keeps a list given at run time a tuple; the parameters say it is a pair
    post_pair = cast("tuple[str, str]", tuple(post))
    pre_pair = cast("tuple[str, str]", tuple(pre)) if pre is not None else None
    return [SeriesSpec(reporter=r, partner=p, dataset=f"{s}/{d}", shock=shock, post=post_pair, pre=pre_pair)
            for s, d, r, p in months.index]


COUNTERFACTUAL_COLUMNS = (
    "source", "dataset", "reporter", "partner", "shock", "pre_start", "pre_end", "post_start",
    "post_end", "pre_months", "post_months", "cumulative_excess", "cumulative_lower", "cumulative_upper",
    "mean_excess", "displaced", "coverage", "coverage_lower", "coverage_upper", "shortfall",
    "undisclosed_share_pre", "undisclosed_share_post", "spec", "fit_notes", *ERROR_COLUMNS)
_FIXED = {"frame", "reporter", "partner", "shock", "pre", "post", "dataset"}


def _check_counterfactual_options(options: dict) -> None:
    allowed = set(inspect.signature(counterfactual).parameters) - _FIXED
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise AnalysisError(f"unknown counterfactual option(s) {unknown}; known: {sorted(allowed)}")
    check_measure(options.get("measure", "volume_bbl"))
    for name, choices, default in (("target", TARGETS, "volume"), ("model", MODELS, "sarimax"),
                                   ("displaced_baseline", DISPLACED_BASELINES, "forecast")):
        if options.get(name, default) not in choices:
            raise AnalysisError(f"{name} must be one of {list(choices)}, got {options[name]!r}")
    if not 0 < options.get("alpha", 0.05) < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {options['alpha']}")
    if options.get("n_sims", 2000) < 100:
        raise AnalysisError(f"n_sims must be at least 100, got {options['n_sims']}")


@call_forms(old_positional=("executor", "max_workers", "chunk_size", "on_error"))
def panel_counterfactual(
    frame: pd.DataFrame,
    series: Sequence[SeriesSpec],
    *,
    executor: object = None,
    max_workers: int | None = None,
    chunk_size: int | None = None,
    on_error: str = "record",
    **options: Any,
) -> PanelResult:
    """:func:`~oilflows.analytics.counterfactual` for many (reporter, partner) series.

    Series of the same (source, dataset, reporter) share one slice of the frame and one panel
    (built once per task); they are sent in tasks of at most `chunk_size` series, a reporter's
    series split into near-equal tasks (fewer, larger tasks ship and build less; more, smaller tasks
    balance the load across workers).

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    series : sequence of SeriesSpec
        E.g. from :func:`counterfactual_series`.
    executor, max_workers, on_error
        As in :func:`panel_substitution`.
    chunk_size : int, optional
        Maximum series per task. Default: ``ceil(len(series) / (4 x CPUs here))`` within 1..16, so
        that every worker gets several tasks.
    **options
        Passed to :func:`~oilflows.analytics.counterfactual` (``measure``, ``target``, ``model``,
        ``order``, ``alpha``, ``n_sims``, ``seed``, ...). ``displaced`` defaults to None here (no
        coverage ratio: it would fit a second model per series).

    Returns
    -------
    PanelResult
        ``table``: one row per series, in the order of `series`: ``source, dataset, reporter,
        partner, shock``, the windows used, observed ``pre_months``/``post_months``, the
        ``cumulative_excess`` over the post window with its ``1 - alpha`` interval
        ``cumulative_lower``/``cumulative_upper`` and ``mean_excess`` (base unit, or share-months
        for ``target="share"``), coverage figures when ``displaced`` is given, undisclosed shares of
        WORLD, the model ``spec`` and ``fit_notes`` (optimiser and statsmodels warnings).
    """
    check_executor(executor, max_workers)
    _check_on_error(on_error)
    if chunk_size is not None and (int(chunk_size) != chunk_size or chunk_size < 1):
        raise AnalysisError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    options = {"displaced": None, **options}
    _check_counterfactual_options(options)
    specs = list(series)
    if not specs:
        raise AnalysisError("no series given")
    for spec in specs:
        if not isinstance(spec, SeriesSpec):
            raise AnalysisError(f"series must be SeriesSpec objects, got {type(spec).__name__}")
    measure = str(options.get("measure", "volume_bbl"))
    start = time.perf_counter()
    slices = _slices(frame, measure, reporters={s.reporter for s in specs})
    by_key: dict[tuple[str, str, str], list[tuple[int, SeriesSpec]]] = {}
    failed = []
    for position, spec in enumerate(specs):
        keys = [k for k in slices if k[2] == spec.reporter and k[:2] in matching([k[:2]], spec.dataset)]
        if len(keys) == 1:
            by_key.setdefault(keys[0], []).append((position, spec))
            continue
        problem = (f"no crude-oil import rows with a WORLD total of {measure} for {spec.reporter} in "
                   f"dataset {spec.dataset!r}" if not keys else
                   f"dataset {spec.dataset!r} matches {[f'{k[0]}/{k[1]}' for k in keys]}; name the source")
        failed.append({"position": position, "source": None, "dataset": spec.dataset,
                       "reporter": spec.reporter, "partner": spec.partner,
                       "shock": pd.Timestamp(spec.shock), "error_type": AnalysisError.__name__,
                       "error": problem})
    if chunk_size is None:
        chunk_size = min(MAX_CHUNK, max(1, -(-len(specs) // (4 * default_workers()))))
    tasks = [(slices[key], key, part, options, on_error)
             for key, items in sorted(by_key.items()) for part in _split(items, chunk_size)]
    outputs = map_tasks(_counterfactual_task, tasks, executor, max_workers)
    records = sorted(_flatten(outputs) + failed, key=lambda r: r["position"])
    table = _records_frame(records, COUNTERFACTUAL_COLUMNS)
    alpha = float(options.get("alpha", 0.05))
    shown = {k: v for k, v in options.items() if k in ("measure", "target", "model", "displaced",
                                                        "alpha", "parameter_uncertainty", "seed")}
    return PanelResult(
        analysis="counterfactual", table=table,
        keys=("source", "dataset", "reporter", "partner", "shock"),
        parameters={"series": len(specs), **shown, "level": f"{1 - alpha:.0%}"},
        executor=describe(executor, len(tasks), max_workers), n_tasks=len(tasks),
        seconds=time.perf_counter() - start,
        caveats=["Partner figures are disclosed figures: months with all of a partner's cells "
                 "confidential are missing, partly confidential months are lower bounds.",
                 "Intervals are prediction intervals for the realised effect; with about 36 pre months "
                 "nominal 95% intervals cover about 92% in simulation (benchmarks/"
                 "counterfactual_RESULTS.md). Over many series, about alpha of them exclude 0 by "
                 "chance alone."])

# -- bounds for every pair ----------------------------------------------------------------------------

BOUNDS_COLUMNS = ("source", "dataset", "reporter", "displaced", "substitute", "gain_lower",
                  "gain_upper", "shortfall_lower", "shortfall_upper", "coverage_lower",
                  "coverage_upper", "disclosed_coverage", "note", "method", *ERROR_COLUMNS)


def _bounds_task(part: _Slice, key: tuple[str, str, str], options: dict, on_error: str
                 ) -> tuple[list[dict], list[str], int]:
    from . import _accounting

    fields = _key_fields(key)
    before = _accounting.LP_SOLVES[0]
    try:
        records, caveats = pair_bounds(part.unpack(), key[2], options["baseline"], options["post"],
                                       measure=options["measure"], dataset=f"{key[0]}/{key[1]}")
    except Exception as exc:
        if on_error == "raise":
            raise
        return [_error_record(fields, exc)], [], _accounting.LP_SOLVES[0] - before
    out = [{**fields, **r, "error_type": None, "error": None} for r in records]
    return out, [f"{key[2]}: {c}" for c in caveats], _accounting.LP_SOLVES[0] - before


@dataclass
class BoundsPanelResult(_Records, Result):
    """The result of :func:`panel_bounds`: sharp substitution bounds for every reporter and
    ordered (displaced, substitute) pair of partners.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (source, dataset, reporter, displaced, substitute): ``gain_lower/upper`` and
        ``shortfall_lower/upper`` (monthly means, measure's base unit), ``coverage_lower/upper``
        (ratios; NaN where the shortfall is never positive, +-inf where it can reach 0),
        ``disclosed_coverage``, ``note`` and ``method`` (``identity``: closed form; ``polygon``:
        exact geometry of a shared residual; ``lp``: linear program); ``error_type``/``error`` for
        a reporter that failed.
    parameters : dict
    executor : str
    n_tasks : int
        One task per reporter.
    lp_solved : int
        Linear programs solved over the run (0 when every pair has finite ends).
    seconds : float
        Wall-clock seconds of the run.
    caveats : list of str
    """

    table: pd.DataFrame
    parameters: dict
    executor: str
    n_tasks: int
    lp_solved: int
    seconds: float
    caveats: list[str] = field(default_factory=list)

    def _repr_fields(self) -> dict:
        return {n: getattr(self, n) for n in ("n_tasks", "lp_solved", "executor", "table")}

    @summary_method
    def summary(self, top: int = 3) -> str:
        """Per reporter: pairs, how they were solved, and the coverage bounds of the `top` pairs by
        disclosed coverage (of the displaced partner ``parameters['focus']`` when set)."""
        focus = self.parameters.get("focus")
        shown_as = f"{focus}'s shortfall" if focus else "the shortfall, any pair"
        ok = self.ok
        lines = [
            f"Panel bounds run: {len(ok):,} (displaced, substitute) pairs, {self.n_tasks} reporter "
            f"task(s) on {self.executor}, {self.seconds:.2f} s, {self.lp_solved} linear programs",
            "parameters: " + ", ".join(f"{k}={v}" for k, v in self.parameters.items()), "",
            f"{'source/dataset':<24}{'reporter':<9}{'pairs':>7}{'identity':>9}{'polygon':>8}"
            f"{'LP':>5}  coverage of {shown_as} (top {top} by disclosed coverage)"]
        for (source, dataset, reporter), group in ok.groupby(list(GROUP), sort=True):
            counts = group["method"].value_counts()
            mine = group if focus is None else group[group["displaced"] == focus]
            best = mine.dropna(subset=["disclosed_coverage"]).nlargest(top, "disclosed_coverage")
            text = ", ".join(("" if focus else f"{r.displaced}->") + f"{r.substitute} "
                             f"{pct(r.coverage_lower)}..{pct(r.coverage_upper)}"
                             for r in best.itertuples()) or "n/a"
            lines.append(f"{source + '/' + dataset:<24}{reporter:<9}{len(group):>7}"
                         f"{counts.get('identity', 0):>9}{counts.get('polygon', 0):>8}"
                         f"{counts.get('lp', 0):>5}  {text}")
        failed = self.table[self.table["error"].notna()]
        if len(failed):
            lines += ["", "Failures (recorded, not raised):"]
            lines += [f"- {r.reporter}: {r.error_type}: {r.error}" for r in failed.itertuples()]
        if self.caveats:
            lines += ["", "Caveats:"] + [f"- {c}" for c in self.caveats]
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, top: int = 12) -> Axes:
        """The bounded coverage intervals with the largest disclosed coverage (of the displaced
        partner ``parameters['focus']`` when set), by reporter and pair."""
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(8, 4.5))
        ok = self.ok
        focus = self.parameters.get("focus")
        if focus is not None:
            ok = ok[ok["displaced"] == focus]
        shown = ok[np.isfinite(ok["coverage_lower"]) & np.isfinite(ok["coverage_upper"])]
        shown = shown.nlargest(top, "disclosed_coverage")
        y = np.arange(len(shown))
        ax.hlines(y, shown["coverage_lower"], shown["coverage_upper"], color="#2166ac", linewidth=4)
        ax.plot(shown["disclosed_coverage"], y, "k|", markersize=12, label="disclosed cells")
        ax.set_yticks(y, [f"{r.reporter}: {r.displaced}->{r.substitute}" for r in shown.itertuples()])
        ax.set_xlabel("coverage of the shortfall (ratio)")
        ax.set_title("identified coverage intervals")
        ax.legend(loc="lower right", fontsize="small")
        return ax


def panel_bounds(
    frame: pd.DataFrame,
    *,
    baseline: tuple[str, str] = ("2021-01", "2021-12"),
    post: tuple[str, str] = ("2023-01", "2023-12"),
    measure: str = "volume_bbl",
    dataset: str = "nrg_ti_coifpm",
    reporters: Iterable[str] | None = None,
    focus: str | None = None,
    executor: object = "serial",
    max_workers: int | None = None,
    on_error: str = "record",
) -> BoundsPanelResult:
    """:func:`~oilflows.analytics.substitution_bounds` (grade detail alone) for every reporter of
    the monthly grade-level `dataset` and every ordered (displaced, substitute) pair of partners.

    Partners: those with at least one cell (disclosed or confidential) for the reporter in the
    baseline or post window (a partner without one is 0 in every month: its pairs say nothing).
    Per reporter the accounts and each partner's month boxes are built once; most pairs need no
    linear program (see :func:`~oilflows.analytics.bounds.pair_bounds`), and the figures equal
    ``substitution_bounds`` pair by pair.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame (e.g. :func:`oilflows.load_default`).
    baseline, post : tuple of str
        ``("YYYY-MM", "YYYY-MM")`` windows; means are over every month of each.
    measure : {"volume_bbl", "mass_t", "value"}
    dataset : str
        The monthly grade-level dataset (``"dataset"`` or ``"source/dataset"``).
    reporters : iterable of str, optional
        Only these reporters.
    focus : str, optional
        A displaced partner whose pairs summary() and plot() show (default: every pair; the table
        always has every pair).
    executor, max_workers, on_error
        As in :func:`panel_substitution`; default ``"serial"`` (a few seconds of work in one task
        per reporter: a process pool's start-up would cost about as much).

    Returns
    -------
    BoundsPanelResult
    """
    start = time.perf_counter()
    slices = _before_after_slices(frame, measure, dataset, reporters, baseline, post, executor,
                                  max_workers, on_error)
    options = {"baseline": tuple(baseline), "post": tuple(post), "measure": measure}
    tasks = [(rows, key, options, on_error) for key, rows in slices.items()]
    outputs = map_tasks(_bounds_task, tasks, executor, max_workers)
    records = [r for out in outputs for r in out[0]]
    records += _missing_reporters(reporters, slices, measure, dataset)
    caveats = [c for out in outputs for c in out[1]]
    solved = sum(out[2] for out in outputs)  # counted in the tasks, wherever they ran
    return BoundsPanelResult(
        table=_records_frame(records, BOUNDS_COLUMNS),
        parameters={**options, "dataset": dataset, "focus": focus},
        executor=describe(executor, len(tasks), max_workers), n_tasks=len(tasks),
        lp_solved=solved, seconds=time.perf_counter() - start,
        caveats=caveats + ["Bounds from the grade detail alone (no partner totals from other "
                           "datasets); each pair is bounded on its own (two pairs' bounds are not "
                           "jointly attainable)."])


__all__ = ["BOUNDS_COLUMNS", "COUNTERFACTUAL_COLUMNS", "COUNT_COLUMNS", "DATE_COLUMNS", "ERROR_COLUMNS",
           "GROUP",
           "MAX_CHUNK", "ON_ERROR", "SLICE_COLUMNS", "SUBSTITUTION_COLUMNS", "TEXT_COLUMNS",
           "BoundsPanelResult", "PanelResult", "SeriesSpec", "counterfactual_series", "panel_bounds",
           "panel_concentration",
           "panel_counterfactual", "panel_substitution"]
