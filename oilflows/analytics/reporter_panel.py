"""The reporter x month panel of one partner's outcome, built per reporter by ``build_panel``.

:func:`reporter_panel` (one window) and :func:`reporter_panel_in_windows` (several) call
:func:`oilflows.analytics._panel.build_panel` for each reporter, so dataset selection and the undisclosed
residual (WORLD minus disclosed partners) are handled as in every other analytic; the panel designs
(:mod:`oilflows.analytics.panel_designs`) and the synthetic control are built on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import codes
from ..errors import AnalysisError
from ..schema import CONFIDENTIAL, WORLD
from ._panel import Panel, build_panel, check_measure, display, window
from ._signature import call_forms

#: An inclusive ``(lo, hi)`` pair of timestamps; None for an open end.
Window = tuple[pd.Timestamp | None, pd.Timestamp | None]

#: Outcomes :func:`reporter_panel` can build.
OUTCOMES = ("share", "volume", "log1p_volume")
#: What a month in which the partner has a confidential cell counts as: ``drop`` (default: left out, the
#: outcome is not identified), ``lower_bound`` (the disclosed part only: a lower bound, not the outcome)
#: or ``bounds`` (kept, with the outcome's interval ``y_lo``..``y_hi`` from the accounting identity).
CONFIDENTIAL_RULES = ("drop", "lower_bound", "bounds")
#: Importers whose Russian crude came (partly) through the Druzhba pipeline: treated in a Druzhba design
#: and never donors (methods note section 8; CZ through the southern branch).
DRUZHBA_REPORTERS = ("DE", "PL", "CZ", "SK", "HU")
_FAR_PAST, _FAR_FUTURE = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")


@dataclass
class ReporterPanel:
    """A reporter x month panel of one partner's outcome, built per reporter by ``build_panel``.

    ``data`` (long, one row per reporter and month): ``y`` (the outcome), ``quantity`` (the partner's
    disclosed quantity, measure's base unit), ``world`` (WORLD total), ``undisclosed`` (WORLD minus
    disclosed partners), ``undisclosed_share`` (of WORLD) and ``partner_confidential`` (confidential
    cells of the partner that month). ``dropped``: requested reporters left out, with the reason.
    ``dropped_months``: reporter -> months left out (no partner disclosed at all, or, with
    ``confidential="drop"``, a confidential cell of the partner); ``confidential_months``: reporter ->
    months left out for a confidential cell of the partner only (``"drop"``). With
    ``confidential="bounds"`` ``data`` also has ``y_lo``/``y_hi``: the sharp interval of the outcome
    from the month's accounting identity (``y_hi`` is inf where WORLD is confidential), and ``y`` is
    ``y_lo``.
    """

    data: pd.DataFrame
    outcome: str
    partner: str
    measure: str
    freq: str
    source: str
    dataset: str
    confidential: str
    dropped: dict[str, str] = field(default_factory=dict)
    dropped_months: dict[str, int] = field(default_factory=dict)
    confidential_months: dict[str, int] = field(default_factory=dict)
    panels: dict[str, Panel] = field(default_factory=dict, repr=False)

    @property
    def reporters(self) -> list[str]:
        """Reporters in the panel, in the order requested."""
        return list(dict.fromkeys(self.data["reporter"]))

    def wide(self, column: str = "y") -> pd.DataFrame:
        """Periods x reporters of one column of :attr:`data` (NaN where a month is missing)."""
        return self.data.pivot(index="period", columns="reporter", values=column)[self.reporters]

    def outcome_label(self) -> str:
        """The outcome in words, with its unit."""
        unit, _ = display(self.measure)
        return {"share": f"{self.partner} share of {WORLD} imports ({self.measure})",
                "volume": f"{self.partner} imports ({self.measure}, base unit)",
                "log1p_volume": f"log(1 + {self.partner} imports in {unit})"}[self.outcome]


def is_aggregate(code: str) -> bool:
    """True for reporter codes that are not countries: every code of the non-country vocabulary
    (``EU_V``, ``EU28``, ``EU27_2020``, Comtrade's ``EU``, regions, ``WORLD``) and any code not shaped like
    an ISO alpha-2 code (:func:`oilflows.codes.is_non_country`). An unassigned two-letter code (the
    placeholders of hand-built or simulated frames, ``AA``) is not flagged."""
    return codes.is_non_country(code)


def non_country_reason(code: str) -> str:
    """Why `code` is no importer: its kind and label in the non-country vocabulary."""
    entry = codes.NON_COUNTRY.get(code)
    what = f"{entry.kind}: {entry.label}" if entry is not None else "not an ISO alpha-2 code"
    return (f"not a country ({what}); an aggregate contains its member countries and a region or "
            "unspecified code is no importer")


@call_forms(old_positional=("outcome", "partner", "measure", "dataset", "periods", "freq", "confidential",
                            "on_missing"),
            renamed={"periods": ("start", "end")})
def reporter_panel(
    frame: pd.DataFrame,
    reporters: Sequence[str] | None = None,
    *,
    outcome: str = "share",
    partner: str,
    measure: str = "volume_bbl",
    dataset: str | None = None,
    start: str | None = None,
    end: str | None = None,
    freq: str = "M",
    confidential: str = "drop",
    on_missing: str = "raise",
) -> ReporterPanel:
    """Build a reporter x month panel of `partner`'s outcome.

    Parameters
    ----------
    frame : pandas.DataFrame
        A canonical frame.
    reporters : sequence of str, optional
        ISO alpha-2 importers; default: every non-aggregate reporter with a WORLD total of `measure` in
        the window (in `dataset` if given).
        Aggregates and other non-country codes (``EU_V``, ``EU28``, Comtrade's ``EU``;
        :func:`oilflows.codes.is_non_country`) are refused: they contain the countries.
    outcome : {"share", "volume", "log1p_volume"}
        ``share``: partner quantity / WORLD (the undisclosed volume stays in the denominator);
        ``volume``: partner quantity in the measure's base unit (barrels, tonnes, currency);
        ``log1p_volume``: log(1 + quantity in thousand units), e.g. thousand barrels.
    partner : str
        ISO alpha-2 origin.
    measure : {"volume_bbl", "mass_t", "value"}
    dataset : str, optional
        ``"dataset"`` or ``"source/dataset"``; passed to ``build_panel`` for every reporter.
    start, end : str, optional
        Inclusive span of months ``"YYYY-MM"``, both or neither (was ``periods=(start, end)``,
        deprecated); it also settles the dataset when several cover a reporter (e.g. the register
        ends in 2019).
    freq : {"M", "A"}
    confidential : {"drop", "lower_bound", "bounds"}
        A month in which the partner has a confidential cell. ``drop`` (default): leave the
        reporter-month out (its outcome is not identified; counted in
        :attr:`ReporterPanel.confidential_months`). ``lower_bound``: keep the disclosed quantity only,
        a lower bound, not the outcome. ``bounds``: keep the month and add ``y_lo``/``y_hi``, the
        outcome at both ends of the partner's volume bounds
        (:meth:`oilflows.analytics._accounting.Accounts.partner_box`); monthly data only.
    on_missing : {"raise", "drop"}
        A reporter present in `frame` but without a WORLD total of `measure` in the window (e.g. PL in
        nrg_ti_coifpm from 2020, whose totals are confidential): raise, or leave it out and record why
        in :attr:`ReporterPanel.dropped`.

    Notes
    -----
    Months in which a reporter discloses no partner at all (only WORLD, e.g. nrg_ti_coifpm before 2020)
    say nothing about a partner's share and are always left out (:attr:`ReporterPanel.dropped_months`).
    Every reporter must come from the same source/dataset; otherwise :class:`AnalysisError` asks for
    ``dataset=``.
    """
    if (start is None) != (end is None):
        raise AnalysisError(f"give both start= and end=, or neither (got start={start!r}, end={end!r})")
    windows = [window((start, end))] if start is not None and end is not None else None
    return reporter_panel_in_windows(frame, reporters, outcome, partner, measure, dataset, windows, freq,
                                     confidential, on_missing)


def reporter_panel_in_windows(frame: pd.DataFrame, reporters: Sequence[str] | None, outcome: str,
                              partner: str, measure: str, dataset: str | None, windows: list[Window] | None,
                              freq: str, confidential: str, on_missing: str,
                              non_countries: str = "raise") -> ReporterPanel:
    """:func:`reporter_panel` over several windows: inclusive ``(lo, hi)`` timestamp pairs, None for all.

    The other arguments are those of :func:`reporter_panel`. Each reporter needs a WORLD total of
    `measure` and a month with a disclosed partner in every window; otherwise `on_missing` applies.
    `non_countries`: a reporter that is not a country (:func:`is_aggregate`) raises (``"raise"``, as
    :func:`reporter_panel` does) or is left out with its reason in :attr:`ReporterPanel.dropped`
    (``"drop"``: the donor and control pools of the panel designs and the synthetic control).
    """
    check_measure(measure)
    _check_choice("outcome", outcome, OUTCOMES)
    _check_choice("confidential", confidential, CONFIDENTIAL_RULES)
    _check_choice("on_missing", on_missing, ("raise", "drop"))
    if freq not in ("M", "A"):
        raise AnalysisError(f"freq must be 'M' or 'A', got {freq!r}")
    if confidential == "bounds" and freq != "M":
        raise AnalysisError("confidential='bounds' needs monthly data (freq='M')")
    if reporters is None:
        reporters = available_reporters(frame, windows or [(_FAR_PAST, _FAR_FUTURE)], measure, freq, dataset)
    _check_choice("non_countries", non_countries, ("raise", "drop"))
    reporters = list(dict.fromkeys(reporters))
    aggregates = [r for r in reporters if is_aggregate(r)]
    if aggregates and non_countries == "raise":
        raise AnalysisError(f"{', '.join(aggregates)}: aggregate or other non-country reporter code(s), not "
                            "importers (an aggregate contains the member countries); leave them out of the "
                            "panel")
    reporters = [r for r in reporters if r not in aggregates]
    absent = sorted(set(reporters) - set(frame["reporter"].unique()))
    if absent:
        raise AnalysisError(f"reporter(s) {', '.join(absent)} not in the data")
    windows = windows or [(_FAR_PAST, _FAR_FUTURE)]
    rows, panels, dropped, dropped_months, conf_months = [], {}, {}, {}, {}
    dropped.update({r: non_country_reason(r) for r in aggregates})
    for reporter in reporters:
        reason = _missing_reason(frame, reporter, measure, freq, dataset, windows)
        if reason is None:
            panel = build_panel(frame, reporter, measure, freq, dataset, windows)
            long, n_left_out, n_conf = _outcome_rows(panel, partner, outcome, confidential, windows)
            note = (f" (confidential='drop': months with a confidential {partner} cell do not count)"
                    if confidential == "drop" else "")
            if long.empty:
                reason = f"no month with a disclosed partner in {_windows_text(windows)}{note}"
            else:
                empty = [(lo, hi) for lo, hi in windows
                         if not long["period"].between(lo, hi).any()]
                if empty:
                    reason = f"no month with a disclosed partner in {_windows_text(empty)}{note}"
        if reason is not None:
            if on_missing == "raise":
                raise AnalysisError(f"reporter {reporter}: {reason}")
            dropped[reporter] = reason
            continue
        panels[reporter], dropped_months[reporter] = panel, n_left_out
        conf_months[reporter] = n_conf
        if confidential == "bounds":
            long = _with_bounds(frame, long, panel, reporter, partner, outcome)
        rows.append(long.assign(reporter=reporter))
    if not rows:
        raise AnalysisError("no reporter has usable data: "
                            + "; ".join(f"{r}: {why}" for r, why in dropped.items()))
    origins = {(p.source, p.dataset) for p in panels.values()}
    if len(origins) > 1:
        raise AnalysisError("reporters come from different datasets "
                            f"({', '.join(f'{r}: {p.source}/{p.dataset}' for r, p in panels.items())}); "
                            "pass dataset= so that one source defines every reporter's outcome")
    source, chosen = origins.pop()
    columns = ["reporter", "period", "y", "quantity", "world", "undisclosed", "undisclosed_share",
               "partner_confidential"] + (["y_lo", "y_hi"] if confidential == "bounds" else [])
    data = pd.concat(rows, ignore_index=True)[columns]
    return ReporterPanel(data, outcome, partner, measure, freq, source, chosen, confidential, dropped,
                         dropped_months, conf_months, panels)


def _transform(volume: pd.Series | np.ndarray, world: pd.Series | np.ndarray, outcome: str,
               measure: str) -> np.ndarray:
    """The outcome of a partner volume (base unit): the same monotone map as the panel's ``y``."""
    _, divisor = display(measure)
    volume = np.asarray(volume, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"share": lambda: volume / np.asarray(world, dtype=float), "volume": lambda: volume,
                "log1p_volume": lambda: np.log1p(np.clip(volume, 0, None) / divisor)}[outcome]()


def _with_bounds(frame: pd.DataFrame, long: pd.DataFrame, panel: Panel, reporter: str, partner: str,
                 outcome: str) -> pd.DataFrame:
    """Add ``y_lo``/``y_hi`` (outcome at both ends of the partner's volume box) and set ``y = y_lo``."""
    from ._accounting import accounts

    months = pd.DatetimeIndex(long["period"])
    box = accounts(frame, reporter, panel.measure, f"{panel.source}/{panel.dataset}",
                   months).partner_box(partner)
    vol_lo = box["disclosed"].to_numpy(float) + box["lo"].to_numpy(float)
    vol_hi = box["disclosed"].to_numpy(float) + box["hi"].to_numpy(float)
    world = long["world"].to_numpy(float)
    long = long.copy()
    long["y_lo"] = _transform(vol_lo, world, outcome, panel.measure)
    long["y_hi"] = _transform(vol_hi, world, outcome, panel.measure)
    long["y"] = long["y_lo"]
    return long


def _all_reporters(frame: pd.DataFrame, dataset: str | None) -> list[str]:
    rows = frame if dataset is None else frame[_dataset_mask(frame, dataset)]
    return sorted(r for r in rows["reporter"].unique() if not is_aggregate(r))


def available_reporters(frame: pd.DataFrame, windows: Sequence[Window], measure: str = "volume_bbl",
                        freq: str = "M", dataset: str | None = None,
                        exclude: Sequence[str] = ()) -> list[str]:
    """Non-aggregate reporters (not in `exclude`) with a WORLD total of `measure` in every window."""
    return [r for r in _all_reporters(frame, dataset)
            if r not in exclude and _missing_reason(frame, r, measure, freq, dataset, windows) is None]


def _dataset_mask(frame: pd.DataFrame, dataset: str) -> pd.Series:
    return (frame["dataset"] == dataset) | ((frame["source"] + "/" + frame["dataset"]) == dataset)


def _missing_reason(frame: pd.DataFrame, reporter: str, measure: str, freq: str, dataset: str | None,
                    windows: Sequence[Window]) -> str | None:
    """Why `reporter` has no WORLD total of `measure` in some window (None if it has one in each)."""
    rows = frame[(frame["reporter"] == reporter) & (frame["partner"] == WORLD) & (frame["freq"] == freq)]
    if dataset is not None:
        rows = rows[_dataset_mask(rows, dataset)]
    for lo, hi in windows:
        inside = rows[(rows["period"] >= lo) & (rows["period"] <= hi)]
        if inside[measure].notna().any():
            continue
        conf = inside["flag"].fillna("").str.contains(CONFIDENTIAL, regex=False).sum()
        why = f" ({conf} confidential WORLD cells)" if conf else ""
        return f"no WORLD total of {measure} in {_windows_text([(lo, hi)])}{why}"
    return None


def _outcome_rows(panel: Panel, partner: str, outcome: str, confidential: str,
                  windows: Sequence[Window]) -> tuple[pd.DataFrame, int, int]:
    """Long rows of one reporter's outcome; months without disclosure (and, if asked, confidential) out."""
    values = panel.values
    quantity = values[partner] if partner in values.columns else pd.Series(0.0, index=values.index)
    conf = (panel.confidential[partner] if partner in panel.confidential.columns
            else pd.Series(0, index=values.index))
    table = pd.DataFrame({"quantity": quantity, "world": panel.world, "undisclosed": panel.undisclosed,
                          "partner_confidential": conf.astype(int)})
    inside = np.zeros(len(table), dtype=bool)
    for lo, hi in windows:
        inside |= (table.index >= lo) & (table.index <= hi)
    table = table.loc[inside & (table["world"] > 0).to_numpy()]
    disclosed = values.reindex(table.index).sum(axis=1) > 0
    is_conf = (table["partner_confidential"] > 0).to_numpy()
    keep = disclosed & ~is_conf if confidential == "drop" else disclosed
    # An open-ended window counts only from the first / to the last disclosed month: before it the source
    # has no partner detail at all (nrg_ti_coifpm: TOTAL only before 2020).
    span = disclosed.index[disclosed.to_numpy()]
    counted = np.zeros(len(table), dtype=bool)
    for lo, hi in windows:
        lo = max(lo, span.min()) if lo <= _FAR_PAST and len(span) else lo
        hi = min(hi, span.max()) if hi >= _FAR_FUTURE and len(span) else hi
        counted |= (table.index >= lo) & (table.index <= hi)
    n_left_out = int((~keep & counted).sum())
    n_conf = int((disclosed.to_numpy() & is_conf & counted).sum()) if confidential == "drop" else 0
    table = table.loc[keep]
    table["undisclosed_share"] = table["undisclosed"] / table["world"]
    _, divisor = display(panel.measure)
    table["y"] = {"share": table["quantity"] / table["world"], "volume": table["quantity"],
                  "log1p_volume": np.log1p(table["quantity"].clip(lower=0) / divisor)}[outcome]
    table.index.name = "period"
    return table.reset_index(), n_left_out, n_conf


def _windows_text(windows: Sequence[Window]) -> str:
    def one(lo: pd.Timestamp, hi: pd.Timestamp) -> str:
        lo_t = "start" if lo <= _FAR_PAST else f"{lo:%Y-%m}"
        hi_t = "end" if hi >= _FAR_FUTURE else f"{hi:%Y-%m}"
        return f"{lo_t}..{hi_t}"
    return " and ".join(one(lo, hi) for lo, hi in windows)


def _check_choice(name: str, value: object, options: Sequence[str]) -> None:
    if value not in options:
        raise AnalysisError(f"{name} must be one of {list(options)}, got {value!r}")

__all__ = ["CONFIDENTIAL_RULES", "DRUZHBA_REPORTERS", "OUTCOMES", "ReporterPanel",
           "available_reporters", "is_aggregate", "non_country_reason", "reporter_panel",
           "reporter_panel_in_windows"]
