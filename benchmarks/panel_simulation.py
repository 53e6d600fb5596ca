"""Monte-Carlo validation of the panel designs (DiD, event study, exposure, synthetic control), known truth.

Simulated importers report monthly crude imports by origin as a canonical frame (so every estimate goes
through the public functions, ``build_panel`` included). The partner's share of WORLD follows a factor
model::

    s_ct = alpha_c + lambda_t + mu_c * f_t + e_ct        (before the shock)

with reporter effects alpha_c, month effects lambda_t (seasonal + noise), a common AR(1) factor f_t with
heterogeneous loadings mu_c (not absorbed by two-way fixed effects: it makes reporter-level shocks that
clustering must capture), and AR(1) idiosyncratic noise e_ct. Each reporter takes a share r_c of its crude
from the displaced partner (RU). From the shock on, RU goes to zero everywhere, and treated reporters
replace a known fraction theta of the displaced volume with the partner (KZ), so their KZ share rises by
theta * r_c; the rest goes to other origins. The truth is therefore beta = mean over treated of
theta * r_c (DiD, event study, synthetic control) and b = theta (exposure design, where every reporter is
dosed by its r_c). A confidential origin (a cell with a null volume and flag "c") keeps an undisclosed
share in every reporter, as in the real data.

Run ``python benchmarks/panel_simulation.py [--seeds N]``; it writes ``benchmarks/panel_RESULTS.md``
(bias, RMSE, interval coverage per method and design, and the real-data estimates).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: BLAS threads only add contention

import argparse  # noqa: E402
import string  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from oilflows.analytics.panel_designs import did, event_study, exposure  # noqa: E402
from oilflows.analytics.synthetic_control import synthetic_control  # noqa: E402
from oilflows.errors import AnalysisError  # noqa: E402
from oilflows.schema import COLUMNS  # noqa: E402

POST_START = "2023-01"
UNITS = [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase]  # "AA", "AB", ...


@dataclass
class Truth:
    """What the simulation put in: treated/control codes, effect per treated unit, beta, theta."""

    treated: list[str]
    controls: list[str]
    effects: dict[str, float]
    beta: float
    theta: float
    hull_weights: dict[str, float] | None = None


def simulate_frame(
    seed: int,
    n_units: int = 6,
    n_treated: int = 2,
    theta: float = 0.3,
    start: str = "2020-01",
    end: str = "2023-12",
    post_start: str = POST_START,
    design: str = "did",
    in_hull: bool = False,
    level_shift: float = 0.0,
    spillover: float = 0.0,
    heterogeneous: bool = False,
    noise_sd: float = 0.006,
    rho: float = 0.4,
    factor_sd: float = 0.01,
) -> tuple[pd.DataFrame, Truth]:
    """One simulated canonical frame (dataset "sim") and the truth it was built from.

    Parameters
    ----------
    seed : int
    n_units, n_treated : int
        Reporters, the first `n_treated` of them treated (``design="did"``).
    theta : float
        Fraction of the displaced (RU) volume the treated replace with KZ; 0 = no effect.
    design : {"did", "exposure"}
        "did": only treated reporters replace; "exposure": every reporter replaces theta of its own RU
        volume (the dose r_c varies from 0 to 0.4).
    in_hull : bool
        Make the first treated reporter's alpha and mu a convex combination of three controls' (weights
        stored in ``Truth.hull_weights``), so a synthetic control can reproduce it.
    level_shift : float
        Added to the first treated reporter's alpha (after the hull construction): puts it outside the
        donors' convex hull in levels while keeping its dynamics inside.
    heterogeneous : bool
        ``design="did"``: draw each reporter's RU share from U(0.2, 0.4), so treated effects differ
        (the truth is then their mean, and cluster-robust intervals, which treat that heterogeneity as
        sampling noise, are conservative); default: every reporter has an RU share of 0.3.
    spillover : float
        SUTVA violation: the controls lose this fraction of the treated reporters' KZ share gain between
        them (capacity-constrained supply), so the DiD truth for the treated stays beta but the estimate
        converges to beta + spillover * beta * n_treated / n_controls.
    noise_sd, rho, factor_sd : float
        Idiosyncratic AR(1) noise (sd, autocorrelation) and the common factor's sd.
    """
    rng = np.random.default_rng(seed)
    months = pd.date_range(start, end, freq="MS")
    n_months = len(months)
    post = np.asarray(months >= pd.Timestamp(post_start))
    units = UNITS[:n_units]
    alpha = rng.uniform(0.12, 0.20, n_units)
    mu = rng.uniform(0.0, 2.0, n_units)
    ru_share = {"exposure": rng.uniform(0.0, 0.4, n_units), "did": rng.uniform(0.2, 0.4, n_units)}[design]
    if design == "did" and not heterogeneous:
        ru_share[:] = 0.3
    hull_weights = None
    if in_hull:
        chosen = rng.choice(np.arange(n_treated, n_units), size=min(3, n_units - n_treated), replace=False)
        w = rng.dirichlet(np.ones(len(chosen)))
        alpha[0], mu[0] = w @ alpha[chosen], w @ mu[chosen]
        hull_weights = {units[c]: float(x) for c, x in zip(chosen, w, strict=True)}
    alpha[0] += level_shift
    seasonal = 0.01 * np.sin(2 * np.pi * np.arange(n_months) / 12)
    month_effect = seasonal + rng.normal(0, 0.004, n_months)
    factor = _ar1(rng, n_months, 0.8, factor_sd)
    noise = np.column_stack([_ar1(rng, n_months, rho, noise_sd) for _ in range(n_units)])
    share = alpha[None, :] + month_effect[:, None] + factor[:, None] * mu[None, :] + noise
    level = rng.lognormal(np.log(3e7), 0.5, n_units)
    imports = level[None, :] * np.exp(rng.normal(0, 0.05, (n_months, n_units)))
    replaces = np.ones(n_units, bool) if design == "exposure" else np.arange(n_units) < n_treated
    gain = theta * ru_share * replaces  # change in the KZ share of each reporter after the shock
    share = share + post[:, None] * gain[None, :]
    if spillover and not replaces.all():
        # Controls of the same expected size lose `spillover` of the treated KZ gain between them.
        loss = spillover * gain[replaces].sum() / (~replaces).sum()
        share = share - post[:, None] * (~replaces)[None, :] * loss
    confidential = rng.uniform(0.05, 0.2, n_units)
    ru = np.where(post[:, None], 0.0, ru_share[None, :]) * np.ones((n_months, 1))
    rest = 1.0 - share - ru - confidential[None, :]
    if (share < 0).any() or (rest < 0).any():
        raise ValueError(f"seed {seed}: simulated shares left [0, 1]; change the parameters")
    frame = _frame(units, months, imports, {"KZ": share, "RU": ru, "NO": rest}, confidential)
    treated = [u for u, r in zip(units, replaces, strict=True) if r] if design == "did" else list(units)
    controls = [u for u in units if u not in treated]
    effects = {u: float(g) for u, g in zip(units, gain, strict=True) if u in treated}
    beta = float(np.mean(list(effects.values()))) if design == "did" else theta
    return frame, Truth(treated, controls, effects, beta, theta, hull_weights)


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    shocks = rng.normal(0, sd * np.sqrt(1 - phi ** 2), n)
    out = np.empty(n)
    out[0] = rng.normal(0, sd)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + shocks[t]
    return out


def _frame(units, months, imports, shares: dict[str, np.ndarray], confidential: np.ndarray) -> pd.DataFrame:
    """Canonical rows: WORLD, one row per disclosed partner, and a confidential SA cell per month."""
    n_months, n_units = imports.shape
    reporter = np.tile(np.array(units, dtype=object), n_months)
    period = np.repeat(months.to_numpy(), n_units)
    blocks = [("WORLD", None, imports.ravel(), None)]
    for partner, share in shares.items():
        blocks.append((partner, f"{partner}_SIM", (share * imports).ravel(), None))
    blocks.append(("SA", "SA_SIM", np.full(imports.size, np.nan), "c"))
    parts = []
    for partner, grade, volume, flag in blocks:
        parts.append(pd.DataFrame({"reporter": reporter, "period": period, "partner": partner,
                                   "grade": grade, "volume_bbl": volume, "flag": flag}))
    frame = pd.concat(parts, ignore_index=True)
    frame["source"], frame["dataset"], frame["freq"] = "sim", "sim", "M"
    frame["flow"], frame["product"] = "import", "crude_oil"
    for column in COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan if column in ("mass_t", "value", "api_gravity", "sulphur_pct",
                                                 "price_per_bbl") else None
    frame["vintage"] = pd.NaT
    return frame[list(COLUMNS)]


# -- Monte-Carlo runs --------------------------------------------------------------------------------


def run_did(seeds, n_units=6, n_treated=2, weights="webb", n_boot="auto", spillover=0.0, theta=0.3,
            heterogeneous=False) -> dict:
    """Bias, RMSE and coverage of beta (CR1 and wild) over `seeds`."""
    rows = []
    for seed in seeds:
        frame, truth = simulate_frame(seed, n_units=n_units, n_treated=n_treated, spillover=spillover,
                                      theta=theta, heterogeneous=heterogeneous)
        r = did(frame, treated=truth.treated, controls=truth.controls, n_boot=n_boot, seed=seed,
                weights=weights, partner="KZ")
        rows.append({"error": r.estimate - truth.beta, "se": r.se,
                     "cover_cluster": r.ci_cluster[0] <= truth.beta <= r.ci_cluster[1],
                     "cover_wild": r.ci_wild[0] <= truth.beta <= r.ci_wild[1],
                     "reject_wild": r.p_wild <= 0.05, "reject_cluster": r.p_cluster <= 0.05,
                     "unbounded": not np.isfinite(r.ci_wild).all()})
    return _summarise(pd.DataFrame(rows))


def run_event_study(seeds, n_units=6, n_treated=2, n_boot="auto", leads=6, lags=6) -> dict:
    """Bias and coverage of beta_k (pre k: truth 0; post k: truth beta), averaged over k."""
    rows = []
    for seed in seeds:
        frame, truth = simulate_frame(seed, n_units=n_units, n_treated=n_treated)
        r = event_study(frame, treated=truth.treated, controls=truth.controls, n_boot=n_boot, seed=seed,
                        leads=leads, lags=lags, pre=("2021-01", "2022-12"), partner="KZ")
        table = r.table.drop(index=r.ref)
        truth_k = np.where(table.index >= 0, truth.beta, 0.0)
        for k, row, true in zip(table.index, table.itertuples(), truth_k, strict=True):
            rows.append({"k": k, "error": row.estimate - true, "se": row.se,
                         "cover_cluster": row.ci_low_cluster <= true <= row.ci_high_cluster,
                         "cover_wild": row.ci_low <= true <= row.ci_high})
    frame = pd.DataFrame(rows)
    out = {}
    for name, part in (("pre (k<0)", frame[frame["k"] < 0]), ("post (k>=0)", frame[frame["k"] >= 0])):
        out[name] = {"n": len(part), "bias": part["error"].mean(),
                     "rmse": np.sqrt((part["error"] ** 2).mean()), "mean_se": part["se"].mean(),
                     "cover_cluster": part["cover_cluster"].mean(), "cover_wild": part["cover_wild"].mean()}
    return out


def run_exposure(seeds, n_units=20, theta=0.3) -> dict:
    """Bias, RMSE and HC3 coverage of the exposure slope b (truth theta)."""
    rows = []
    for seed in seeds:
        frame, truth = simulate_frame(seed, n_units=n_units, design="exposure", theta=theta)
        r = exposure(frame, reporters=None, partner="KZ", displaced="RU")
        rows.append({"error": r.b - truth.theta, "se": r.se, "cover": r.ci[0] <= truth.theta <= r.ci[1]})
    table = pd.DataFrame(rows)
    return {"n": len(table), "bias": table["error"].mean(), "sd": table["error"].std(),
            "rmse": np.sqrt((table["error"] ** 2).mean()), "mean_se": table["se"].mean(),
            "cover_hc3": table["cover"].mean()}


def run_synth(seeds, n_donors=10, theta=0.3, in_hull=True, level_shift=0.0, intercept=False) -> dict:
    """Bias and RMSE of the mean post effect; placebo p-values (uniform under theta = 0)."""
    rows = []
    for seed in seeds:
        frame, truth = simulate_frame(seed, n_units=n_donors + 1, n_treated=1, theta=theta, in_hull=in_hull,
                                      level_shift=level_shift)
        r = synthetic_control(frame, treated=truth.treated[0], donors=truth.controls, intercept=intercept,
                              partner="KZ")
        rows.append({"error": r.effect - truth.beta, "p": r.p_value, "pre_rmspe": r.pre_rmspe})
    table = pd.DataFrame(rows)
    n_units = n_donors + 1
    return {"n": len(table), "bias": table["error"].mean(), "sd": table["error"].std(),
            "rmse": np.sqrt((table["error"] ** 2).mean()), "mean_pre_rmspe": table["pre_rmspe"].mean(),
            "mean_p": table["p"].mean(), "p_le_1/(J+1)": (table["p"] <= 1 / n_units + 1e-12).mean(),
            "p_le_0.5": (table["p"] <= 0.5 + 1e-12).mean(),
            "ks_uniform": _ks_discrete_uniform(table["p"].to_numpy(), n_units)}


def _ks_discrete_uniform(p: np.ndarray, n_units: int) -> float:
    """Largest gap between the empirical CDF of p and the discrete uniform on {1/n, ..., 1}."""
    grid = np.arange(1, n_units + 1) / n_units
    empirical = np.array([(p <= g + 1e-12).mean() for g in grid])
    return float(np.max(np.abs(empirical - grid)))


def _summarise(table: pd.DataFrame) -> dict:
    return {"n": len(table), "bias": table["error"].mean(), "sd": table["error"].std(),
            "rmse": np.sqrt((table["error"] ** 2).mean()), "mean_se": table["se"].mean(),
            "cover_cluster": table["cover_cluster"].mean(), "cover_wild": table["cover_wild"].mean(),
            "unbounded_wild": table["unbounded"].mean()}


# -- report ------------------------------------------------------------------------------------------


def real_data_section() -> list[str]:
    """DiD, event study, exposure and synthetic control on the embedded snapshot (DE vs FR/IT/ES/NL)."""
    import oilflows

    frame = oilflows.load_default()
    design = {"treated": ("DE", "PL"), "controls": ("FR", "IT", "ES", "NL")}
    lines = ["## Real data (embedded snapshot, nrg_ti_coifpm, KZ share of WORLD, volume)", ""]
    d = did(frame, partner="KZ", **design)
    d_lb = did(frame, partner="KZ", **design, confidential="lower_bound")
    # With 2022 dropped no German month of 2020-2021 has a disclosed Kazakh cell: under the default
    # confidential="drop" the design is not identified, so the anticipation check uses lower_bound.
    d21 = did(frame, partner="KZ", **design, pre=("2020-01", "2021-12"), confidential="lower_bound")
    lines += ["### Difference-in-differences (treated DE, PL; controls FR, IT, ES, NL; post from 2023-01)",
              "",
              "| pre window | confidential | treated used | beta (pp) | CR1 s.e. | CR1 95 % CI | CR1 p | "
              "wild 95 % CI | wild p |", "|---|---|---|---|---|---|---|---|---|"]
    for label, r in (("2020-01..2022-12 | drop (default)", d), ("2020-01..2022-12 | lower_bound", d_lb),
                     ("2020-01..2021-12 (2022 dropped) | lower_bound (not identified under drop)", d21)):
        lines.append(f"| {label} | {', '.join(r.treated)} | {100 * r.estimate:+.2f} | {100 * r.se:.2f} | "
                     f"[{100 * r.ci_cluster[0]:+.2f}, {100 * r.ci_cluster[1]:+.2f}] | {r.p_cluster:.3f} | "
                     f"[{100 * r.ci_wild[0]:+.2f}, {100 * r.ci_wild[1]:+.2f}] | {r.p_wild:.3f} |")
    lines += ["", "```", d.summary(), "```", ""]
    try:
        es_text = event_study(frame, partner="KZ", **design).summary()
    except AnalysisError as exc:  # under "drop" Germany may have no identified month at k = -1
        es_text = (f"confidential='drop' (default): not identified: {exc}\n\nconfidential='lower_bound' "
                   "(the disclosed part only, a lower bound of the outcome):\n"
                   + event_study(frame, partner="KZ", **design, confidential="lower_bound").summary())
    lines += ["### Event study (same design, bins at k <= -12 and k >= 12)", "", "```", es_text, "```", ""]
    sc = synthetic_control(frame, treated="DE", donors=design["controls"], partner="KZ")
    sc_i = synthetic_control(frame, treated="DE", donors=design["controls"], intercept=True, partner="KZ")
    lines += ["### Synthetic control (DE; donors FR, IT, ES, NL; pre 2020-01..2022-12, post 2023)", "",
              "```", sc.summary(), "```", "", "Demeaned variant (`intercept=True`):", "", "```",
              sc_i.summary(), "```", ""]
    ex = exposure(frame, partner="KZ", displaced="RU")
    lines += ["### Exposure design (2023 vs 2021, dose = 2021 RU share)", "", "```", ex.summary(), "```", ""]
    lines += seed_spread(frame, design)
    placebo = did(frame, treated=("DE", "PL"), post_start="2017-01", dataset="coir", partner="KZ")
    placebo_sc = synthetic_control(frame, treated="DE", pre=("2013-01", "2016-12"),
                                   post=("2017-01", "2019-12"), dataset="coir", partner="KZ")
    lines += ["### Pre-war placebo on the EU import register (coir, 2013-2019; fake treatment 2017-01)", "",
              f"DiD, DE and PL vs {len(placebo.controls)} register reporters: beta = "
              f"{100 * placebo.estimate:+.2f} pp (CR1 s.e. {100 * placebo.se:.2f}; CR1 p = "
              f"{placebo.p_cluster:.3f}; wild 95 % CI [{100 * placebo.ci_wild[0]:+.2f}, "
              f"{100 * placebo.ci_wild[1]:+.2f}] pp, p = {placebo.p_wild:.3f}).", "",
              f"Synthetic DE from {len(placebo_sc.donors)} donors: mean gap "
              f"{100 * placebo_sc.effect:+.2f} pp, post/pre RMSPE ratio {placebo_sc.ratio:.2f}, "
              f"placebo p = {placebo_sc.p_value:.3f}.", ""]
    return lines


def seed_spread(frame: pd.DataFrame, design: dict) -> list[str]:
    """Wild-bootstrap interval ends of the real DiD over seeds 1-5: 999 draws against the default."""
    lines = ["### Does the wild-bootstrap interval move with the seed? (real DiD, seeds 1-5)", "",
             "| draws | seed | lower (pp) | upper (pp) | p | Monte Carlo s.e. of the ends (pp) |",
             "|---|---|---|---|---|---|"]
    spread = {}
    for n_boot in (999, "auto"):
        ends = []
        for seed in range(1, 6):
            r = did(frame, partner="KZ", **design, n_boot=n_boot, seed=seed)
            ends.append(r.ci_wild)
            mc = ("0 (exact)" if r.bootstrap_exact else
                  f"{100 * r.mc_error[0]:.4f}, {100 * r.mc_error[1]:.4f}" if r.mc_error else "")
            lines.append(f"| {n_boot} ({r.n_boot}) | {seed} | {100 * r.ci_wild[0]:+.3f} | "
                         f"{100 * r.ci_wild[1]:+.3f} | {r.p_wild:.3f} | {mc} |")
        ends = np.array(ends) * 100
        spread[n_boot] = ends.max(axis=0) - ends.min(axis=0)
    lines += ["", "Spread of the ends over the five seeds (max - min, pp): "
              + "; ".join(f"{k}: lower {v[0]:.3f}, upper {v[1]:.3f}" for k, v in spread.items())
              + ". The summary prints the ends to 0.01 pp.", ""]
    return lines


HEADER = " ".join("""
Data-generating process (module docstring): factor model for the KZ share of WORLD, 48 months
2020-01..2023-12, shock 2023-01; treated reporters replace theta = 0.3 of their displaced RU volume
(RU share 0.3, so beta = 0.09 = 9 points) with KZ; reporter effects U(0.12, 0.20), month effects, a
common AR(1) factor (sd 0.01, rho 0.8) with loadings U(0, 2), AR(1) noise (sd 0.006, rho 0.4), a
confidential origin (5-20 % of WORLD) in every reporter. Every estimate goes through the public
functions on a canonical frame.
""".strip().splitlines())
COVERAGE = " ".join("""
Coverage = share of seeds whose 95 % interval contains the truth; its Monte-Carlo standard error is
about {se:.3f} with {n} seeds ({se2:.3f} with {half}). Wild: restricted wild cluster bootstrap with the
default `n_boot="auto"` (every weight vector when there are at most 99,999: all 6^6 = 46,656 Webb or
2^6 = 64 Rademacher vectors with 6 clusters; otherwise draws doubled until the Monte Carlo error of
each interval end is below half the printed digit), CI by test inversion. CR1: cluster-robust s.e.
with t(G-1).
""".strip().splitlines())
NOTES = [
    "## Reading the tables",
    "",
    "- DiD point estimates are unbiased (bias well below a tenth of a standard error) in every design "
    "without interference. With spill-over onto the controls (SUTVA violated, capacity-constrained "
    "supply) the estimate converges to beta * (1 + n_treated / n_controls) and no interval covers the "
    "truth: inference cannot repair the design.",
    "- CR1 with t(G-1) under-covers with 6 clusters and one or two treated; the restricted wild "
    "bootstrap with Webb weights brings coverage back to about 95 % with 2-3 treated of 6, and the two "
    "agree once G >= 12. Rademacher weights give only 2^6 = 64 draws (32 distinct |t*|) and are "
    "conservative; with a single treated cluster the wild bootstrap is very conservative and its "
    "intervals are huge (MacKinnon & Webb 2017) - the real-data case, where PL drops out.",
    "- With effects that differ across treated reporters, both intervals are conservative for the "
    "sample average effect (the cluster variance counts the heterogeneity as noise).",
    "- Synthetic control recovers the effect when the treated reporter lies in the donors' convex hull; "
    "a level outside the hull biases it by a large part of the level gap, which the demeaned variant "
    "(`intercept=True`) removes. Placebo p-values are uniform when the units are exchangeable; when the "
    "treated unit is better reproduced than the donors are by each other (treated in the hull), the "
    "placebo test rejects somewhat too often without an effect.",
    "",
]

DID_DESIGNS = [  # label, share of --seeds, keyword arguments of run_did
    ("G=6, 2 treated, Webb", 1.0, {"n_units": 6, "n_treated": 2}),
    ("G=6, 2 treated, Rademacher (all 64 draws)", 1.0,
     {"n_units": 6, "n_treated": 2, "weights": "rademacher"}),
    ("G=6, 3 treated, Webb", 1.0, {"n_units": 6, "n_treated": 3}),
    ("G=6, 2 treated, heterogeneous effects, Webb", 1.0,
     {"n_units": 6, "n_treated": 2, "heterogeneous": True}),
    ("G=6, 1 treated, Webb", 0.5, {"n_units": 6, "n_treated": 1}),
    ("G=12, 4 treated, Webb", 0.5, {"n_units": 12, "n_treated": 4}),
    ("G=20, 6 treated, Webb", 0.25, {"n_units": 20, "n_treated": 6}),
    ("G=6, 2 treated, SUTVA spill-over 100 %, Webb", 0.5, {"n_units": 6, "n_treated": 2, "spillover": 1.0}),
]
SYNTH_DESIGNS = [  # label, keyword arguments of run_synth
    ("in hull, effect", {}),
    ("in hull, no effect", {"theta": 0.0}),
    ("exchangeable units, no effect (p should be uniform)", {"theta": 0.0, "in_hull": False}),
    ("outside hull (level +0.08), classic", {"level_shift": 0.08}),
    ("outside hull (level +0.08), intercept=True", {"level_shift": 0.08, "intercept": True}),
]


def results_from_log(path: Path | None) -> dict[str, dict]:
    """Design label -> result dict, from the progress lines of an earlier run's log (``--from-log``):
    a run that died late need not repeat the designs it finished."""
    if path is None:
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if " {" not in line or not line.rstrip().endswith("s"):
            continue
        label, rest = line.split(" {", 1)
        body = "{" + rest.rsplit("}", 1)[0] + "}"
        # the progress lines are this script's own repr of dicts of floats
        out[label] = eval(body, {"np": np, "nan": np.nan, "__builtins__": {}})
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=400, help="seeds of the main DiD designs (others fewer)")
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("panel_RESULTS.md"))
    parser.add_argument("--from-log", type=Path, help="reuse the designs an earlier run's log reports")
    args = parser.parse_args(argv)
    done = results_from_log(args.from_log)
    n = args.seeds
    started = time.time()
    mc_se = np.sqrt(0.95 * 0.05 / n), np.sqrt(0.95 * 0.05 / (n / 2))
    lines = ["# Panel designs: Monte-Carlo validation", "",
             f"Generated by `python benchmarks/panel_simulation.py --seeds {n}` "
             f"({pd.Timestamp.now():%Y-%m-%d}). " + HEADER, "",
             COVERAGE.format(n=n, half=n // 2, se=mc_se[0], se2=mc_se[1]), ""]
    lines += ["## Difference-in-differences (truth beta = 0.09)", "",
              "| design | seeds | bias | sd | RMSE | mean CR1 s.e. | bias / s.e. | CR1 coverage | "
              "wild coverage | wild CI unbounded |", "|---|---|---|---|---|---|---|---|---|---|"]
    for label, share, kwargs in DID_DESIGNS:
        s = done.get(label) or run_did(range(max(int(n * share), 20)), **kwargs)
        lines.append(f"| {label} | {s['n']} | {s['bias']:+.5f} | {s['sd']:.5f} | {s['rmse']:.5f} | "
                     f"{s['mean_se']:.5f} | {s['bias'] / s['mean_se']:+.3f} | {s['cover_cluster']:.3f} | "
                     f"{s['cover_wild']:.3f} | {s['unbounded_wild']:.3f} |")
        print(label, s, f"{time.time() - started:.0f}s", flush=True)
    n_es = max(n // 5, 20)
    lines += ["", f"## Event study (G=6, 2 treated; pre 2021-01..2022-12, bins at -6 and +6; {n_es} seeds)",
              "", "| coefficients | n | bias | RMSE | mean CR1 s.e. | CR1 coverage | wild coverage |",
              "|---|---|---|---|---|---|---|"]
    es_results = done.get("event study") or run_event_study(range(n_es))
    print("event study", es_results, f"{time.time() - started:.0f}s", flush=True)
    for name, s in es_results.items():
        lines.append(f"| {name} | {s['n']} | {s['bias']:+.5f} | {s['rmse']:.5f} | {s['mean_se']:.5f} | "
                     f"{s['cover_cluster']:.3f} | {s['cover_wild']:.3f} |")
    lines += ["", "## Exposure design (every reporter dosed by its RU share U(0, 0.4); truth b = 0.3)", "",
              "| design | seeds | bias | sd | RMSE | mean HC3 s.e. | HC3 coverage |",
              "|---|---|---|---|---|---|---|"]
    for label, units in (("20 reporters", 20), ("5 reporters (as on the real data)", 5)):
        s = done.get(label) or run_exposure(range(max(n // 2, 20)), n_units=units)
        print(label, s, f"{time.time() - started:.0f}s", flush=True)
        lines.append(f"| {label} | {s['n']} | {s['bias']:+.4f} | {s['sd']:.4f} | {s['rmse']:.4f} | "
                     f"{s['mean_se']:.4f} | {s['cover_hc3']:.3f} |")
    lines += ["", "## Synthetic control (1 treated, 10 donors; truth = 0.09 with an effect)", "",
              "| design | seeds | bias | sd | RMSE | mean pre RMSPE | mean placebo p | P(p <= 1/11) | "
              "P(p <= 0.5) | KS vs uniform |", "|---|---|---|---|---|---|---|---|---|---|"]
    for label, kwargs in SYNTH_DESIGNS:
        s = done.get(label) or run_synth(range(max(n // 2, 20)), **kwargs)
        lines.append(f"| {label} | {s['n']} | {s['bias']:+.5f} | {s['sd']:.5f} | {s['rmse']:.5f} | "
                     f"{s['mean_pre_rmspe']:.5f} | {s['mean_p']:.3f} | {s['p_le_1/(J+1)']:.3f} | "
                     f"{s['p_le_0.5']:.3f} | {s['ks_uniform']:.3f} |")
        print(label, s, f"{time.time() - started:.0f}s", flush=True)
    lines += ["", "Uniform placebo p-values over 11 units have mean 6/11 = 0.545, P(p <= 1/11) = 0.091 and "
              "P(p <= 0.5) = 5/11 = 0.455.", ""]
    lines += NOTES
    lines += real_data_section()
    lines += [f"Total runtime {time.time() - started:.0f} s.", ""]
    args.output.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
