"""Shared pieces of the panel designs (:mod:`oilflows.analytics.panel_designs`): the design set-up of
difference-in-differences and the event study, identified sets under confidentiality, caveats, formatting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from ..errors import AnalysisError
from ..schema import WORLD
from ._panel import window
from ._two_way import AUTO_CAP, WEIGHTS, _dummies
from .reporter_panel import (
    _FAR_FUTURE,
    _FAR_PAST,
    DRUZHBA_REPORTERS,
    ReporterPanel,
    _check_choice,
    available_reporters,
    is_aggregate,
    non_country_reason,
    reporter_panel_in_windows,
)


class _DesignResult(Protocol):
    """What :func:`_axis_label` reads of a DiD or event-study result (a protocol: importing the
    result classes from here would be an import circle)."""

    outcome: str
    partner: str
    panel: ReporterPanel | None


#: What the ``ci`` and ``pvalue`` of :func:`did` and :func:`event_study` come from.
INFERENCE = ("wild", "cluster")



def _weights(regressors: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """Rows of pinv(X) for the regressors' columns, X = [regressors, fixed]: beta_j = c_j' y."""
    return np.linalg.pinv(np.hstack([regressors, fixed]))[: regressors.shape[1]]


def _dot(c: np.ndarray, y: np.ndarray) -> float:
    """c'y, with 0 * inf = 0 (an unbounded outcome that carries no weight does not matter)."""
    used = np.abs(c) > 1e-12 * np.abs(c).max()
    return float(c[used] @ y[used])


def _identified_set(c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    """Sharp bounds of c'y over the box lo <= y <= hi (each coordinate free): sum of the extremes."""
    used = np.abs(c) > 1e-12 * np.abs(c).max()
    c, lo, hi = c[used], lo[used], hi[used]
    with np.errstate(invalid="ignore"):
        a, b = c * lo, c * hi
    return float(np.minimum(a, b).sum()), float(np.maximum(a, b).sum())


def _unbounded(bounds: tuple[float, float]) -> str:
    sides = [s for s, v in zip(("below", "above"), bounds, strict=True) if not np.isfinite(v)]
    return (f" (unbounded {' and '.join(sides)}: WORLD is confidential in a month with weight)"
            if sides else "")


def _rule_text(rule: str) -> str:
    return {"drop": "drop (reporter-months whose outcome is not identified are left out)",
            "lower_bound": "lower_bound (only the disclosed part counts: a lower bound, not the outcome)",
            "bounds": "bounds (each month's outcome is an interval; beta is reported as a set)"}[rule]


def _setup(frame: pd.DataFrame, treated: str | Sequence[str], controls: Sequence[str] | None, partner: str,
           outcome: str, post_start: str, pre: tuple[str, str] | None, post: tuple[str, str] | None,
           cluster: str, inference: str, n_boot: int | Literal["auto"], weights: str, level: float,
           measure: str, dataset: str | None, confidential: str) -> dict[str, Any]:
    """Validate the design, build the reporter panel and the fixed-effect matrix (shared by DiD and ES)."""
    _check_choice("cluster", cluster, ("reporter",))
    _check_choice("inference", inference, INFERENCE)
    _check_choice("weights", weights, WEIGHTS)
    if not 0 < level < 1:
        raise AnalysisError(f"level must be between 0 and 1, got {level}")
    if n_boot != "auto" and (isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer))):
        raise AnalysisError(f"n_boot must be 'auto' or an integer, got {n_boot!r}")
    if inference == "wild" and n_boot != "auto" and n_boot < 99:
        raise AnalysisError(f"n_boot must be at least 99 for a wild bootstrap, got {n_boot}")
    treated = [treated] if isinstance(treated, str) else list(dict.fromkeys(treated))
    if not treated:
        raise AnalysisError("no treated reporter given")
    not_countries = [r for r in treated if is_aggregate(r)]
    if not_countries:
        raise AnalysisError("treated reporter(s) must be countries: "
                            + "; ".join(f"{r}: {non_country_reason(r)}" for r in not_countries))
    t0 = window((post_start, post_start))[0].to_period("M").to_timestamp()
    pre_w = window(pre) if pre is not None else (_FAR_PAST, t0 - pd.offsets.MonthBegin(1))
    post_w = window(post) if post is not None else (t0, _FAR_FUTURE)
    if pre_w[1] >= t0:
        raise AnalysisError(f"the pre-period {_span(pre_w)} must end before post_start {t0:%Y-%m}")
    if post_w[0] < t0:
        raise AnalysisError(f"the post window {_span(post_w)} starts before post_start {t0:%Y-%m}")
    if controls is None:
        controls = available_reporters(frame, [pre_w, post_w], measure, "M", dataset,
                                       exclude=[*treated, *DRUZHBA_REPORTERS])
    controls = list(dict.fromkeys(controls))
    both = sorted(set(treated) & set(controls))
    if both:
        raise AnalysisError(f"{', '.join(both)} cannot be both treated and control")
    panel = reporter_panel_in_windows(frame, treated + controls, outcome, partner, measure, dataset,
                                      [pre_w, post_w], "M", confidential, "drop", non_countries="drop")
    present = panel.reporters
    treated_used = [r for r in treated if r in present]
    controls_used = [r for r in controls if r in present]
    if not treated_used:
        raise AnalysisError("no treated reporter has data in both windows: "
                            + "; ".join(f"{r}: {panel.dropped[r]}" for r in treated))
    if len(controls_used) < 2:
        dropped = "; ".join(f"{r}: {why}" for r, why in panel.dropped.items() if r in controls)
        raise AnalysisError(f"fewer than 2 control reporters with data ({', '.join(controls_used) or 'none'})"
                            + (f"; dropped {dropped}" if dropped else "")
                            + ": a difference-in-differences needs several controls")
    data = panel.data.copy()
    data["treated"] = data["reporter"].isin(treated_used)
    data["post"] = data["period"] >= t0
    if not (~data["post"]).any():
        raise AnalysisError(f"no pre-period month with data before {t0:%Y-%m}")
    if not data["post"].any():
        raise AnalysisError(f"no post-period month with data from {t0:%Y-%m}")
    fixed = np.hstack([_dummies(data["reporter"].to_numpy(), False),
                       _dummies(data["period"].to_numpy(), True)])
    pre_used = (data.loc[~data["post"], "period"].min(), data.loc[~data["post"], "period"].max())
    post_used = (data.loc[data["post"], "period"].min(), data.loc[data["post"], "period"].max())
    return {"data": data, "panel": panel, "treated": treated_used, "controls": controls_used, "t0": t0,
            "pre": pre_used, "post": post_used, "fixed": fixed, "table": _by_reporter(data)}


def _by_reporter(data: pd.DataFrame) -> pd.DataFrame:
    """Per reporter and window: months, mean outcome, undisclosed share, partner confidential cells."""
    window_name = np.where(data["post"], "post", "pre")
    grouped = data.assign(window=window_name).groupby(["reporter", "window"], sort=False)
    table = grouped.agg(months=("y", "size"), mean_y=("y", "mean"),
                        undisclosed=("undisclosed", "sum"), world=("world", "sum"),
                        confidential=("partner_confidential", "sum")).reset_index()
    table["undisclosed_share"] = table["undisclosed"] / table["world"]
    wide = table.pivot(index="reporter", columns="window",
                       values=["months", "mean_y", "undisclosed_share", "confidential"])
    wide.columns = [f"{a}_{b}" for a, b in wide.columns]
    wide = wide.reindex(list(dict.fromkeys(data["reporter"])))
    wide.insert(0, "group", np.where(data.groupby("reporter", sort=False)["treated"].first()
                                     .reindex(wide.index), "treated", "control"))
    for column in ("months_pre", "months_post", "confidential_pre", "confidential_post"):
        wide[column] = wide[column].fillna(0).astype(int)
    wide.index.name = "reporter"
    return wide


def _caveats(setup: dict, partner: str) -> list[str]:
    panel, table = setup["panel"], setup["table"]
    notes = []
    for reporter, why in panel.dropped.items():
        notes.append(f"{reporter} left out: {why}.")
    conf_left = {r: n for r, n in panel.confidential_months.items() if n}
    left = {r: n - panel.confidential_months.get(r, 0) for r, n in panel.dropped_months.items()}
    left = {r: n for r, n in left.items() if n}
    if left:
        notes.append("months left out because the reporter disclosed no partner at all: "
                     + ", ".join(f"{r} {n}" for r, n in left.items()) + " (unbalanced panel).")
    if conf_left:
        notes.append(f"confidential='drop': reporter-months with a confidential {partner} cell (outcome not "
                     "identified) left out: " + ", ".join(f"{r} {n}" for r, n in conf_left.items())
                     + "; see confidential='bounds' for what they could change.")
    high = table[table[["undisclosed_share_pre", "undisclosed_share_post"]].max(axis=1) > 0.25]
    if not high.empty:
        notes.append("a large part of WORLD is undisclosed for "
                     + ", ".join(f"{r} ({row.undisclosed_share_pre:.0%} pre / "
                                 f"{row.undisclosed_share_post:.0%} post)" for r, row in high.iterrows())
                     + f": the disclosed {partner} figure is a lower bound and moves with disclosure.")
    conf = table[(table["confidential_pre"] + table["confidential_post"]) > 0]
    if not conf.empty and panel.confidential in ("lower_bound", "bounds"):
        notes.append(f"{partner} has confidential cells (pre/post) in "
                     + ", ".join(f"{r} {row.confidential_pre}/{row.confidential_post}"
                                 for r, row in conf.iterrows())
                     + ("; confidential='lower_bound': those months count only the disclosed grades, a "
                        "lower bound, not the outcome." if panel.confidential == "lower_bound" else
                        "; confidential='bounds': beta is reported as an identified set; its point "
                        "estimate and intervals are at the lower end of each month's outcome interval."))
    notes.append(f"SUTVA: {partner} supply is capacity-constrained (CPC about 1.3-1.6 mb/d), so a treated "
                 "reporter's gain can be a control's loss; beta then adds the controls' loss to the treated "
                 "gain and overstates it. Check the controls' own change.")
    notes.append("Every EU importer was hit by the embargo; beta is a differential (Druzhba-exposure) "
                 "effect, not the total effect of the embargo.")
    if setup["pre"][1] >= pd.Timestamp("2022-03-01"):
        notes.append("the pre-period includes 2022 (self-sanctioning from March 2022, embargo from Dec "
                     "2022): anticipation biases beta towards zero; see the event study or "
                     "pre=(..., '2021-12').")
    n_treated, n_clusters = len(setup["treated"]), len(setup["treated"]) + len(setup["controls"])
    notes.append(f"{n_clusters} clusters, {n_treated} treated: CR1 intervals under-cover with so few "
                 "clusters; with one or two treated clusters even the wild bootstrap is unreliable "
                 "(MacKinnon & Webb 2017), typically conservative or unbounded.")
    return notes



# -- formatting -------------------------------------------------------------------------------------


def _excluding_zero(table: pd.DataFrame) -> int:
    return int(((table["ci_low"] > 0) | (table["ci_high"] < 0)).sum())


def _span(bounds: tuple[pd.Timestamp, pd.Timestamp]) -> str:
    return f"{bounds[0]:%Y-%m}..{bounds[1]:%Y-%m}"


def _num(x: float | None, outcome: str, sign: bool = True) -> str:
    if x is None or not np.isfinite(x):
        return "n/a" if x is None or np.isnan(x) else ("+inf" if x > 0 else "-inf")
    if outcome == "share":
        return f"{100 * x:+.2f} pp" if sign else f"{100 * x:.2f} pp"
    return f"{x:+.4g}" if sign else f"{x:.4g}"


def _tolerance(outcome: str) -> Callable[[float], float]:
    """Half the last digit :func:`_num` prints for a value: the Monte Carlo s.e. target of an end."""
    if outcome == "share":
        return lambda x: 0.5e-4  # printed in pp with 2 decimals: 0.01 pp = 1e-4
    return lambda x: (0.5 * 10.0 ** (np.floor(np.log10(abs(x))) - 3) if np.isfinite(x) and x != 0
                      else 0.5e-4)  # 4 significant digits


def _draws_text(n_boot: int | None, exact: bool, n_clusters: int, weights: str) -> str:
    if exact:
        base = 2 if weights == "rademacher" else 6
        return f"all {n_boot} = {base}^{n_clusters} weight vectors enumerated (exact, no Monte Carlo error)"
    return f"{n_boot} draws"


def _mc_text(error: tuple[float, float], ci: tuple[float, float], outcome: str, exact: bool) -> str:
    if exact:
        return "Monte Carlo error of the interval ends: none (exact enumeration, the seed does not matter)"
    tol = _tolerance(outcome)
    met = all(e < tol(end) or (e == 0 and not np.isfinite(end)) for e, end in zip(error, ci, strict=True))
    return (f"Monte Carlo s.e. of the interval ends (batch means): {_small(error[0], outcome)}, "
            f"{_small(error[1], outcome)}"
            + ("" if met else f" (above half the last printed digit; more draws than {AUTO_CAP:,} or "
               "another seed can move the printed ends)"))


def _small(x: float, outcome: str) -> str:
    """A Monte Carlo error, two significant digits."""
    if not np.isfinite(x):
        return "inf (an end unbounded in some batches)"
    return f"{100 * x:.2g} pp" if outcome == "share" else f"{x:.2g}"


def _ci(ci: tuple[float, float], outcome: str) -> str:
    return f"[{_num(ci[0], outcome)}, {_num(ci[1], outcome)}]"


def _axis_label(result: _DesignResult, prefix: str = "") -> str:
    if result.outcome == "share":
        return f"{prefix}{result.partner} share of {WORLD}, %"
    return f"{prefix}{result.panel.outcome_label() if result.panel else result.outcome}"


def _reporter_table(table: pd.DataFrame, outcome: str) -> str:
    lines = [f"{'reporter':<9}{'group':<9}{'months':>9}{'mean pre':>12}{'mean post':>12}"
             f"{'undiscl.':>14}{'conf.':>8}"]
    for reporter, row in table.iterrows():
        lines.append(f"{reporter:<9}{row['group']:<9}{row['months_pre']:>4}/{row['months_post']:<4}"
                     f"{_level(row['mean_y_pre'], outcome):>12}{_level(row['mean_y_post'], outcome):>12}"
                     f"{row['undisclosed_share_pre']:>7.0%}/{row['undisclosed_share_post']:<5.0%}"
                     f"{row['confidential_pre']:>4}/{row['confidential_post']:<3}")
    return "\n".join(lines)


def _level(x: float, outcome: str) -> str:
    if pd.isna(x):
        return "n/a"
    return f"{100 * x:.2f}%" if outcome == "share" else f"{x:.4g}"
