"""Every analytic on the embedded default, for Germany: counterfactual, breaks, concentration,
shift-share, quality, prices, panel designs, synthetic control, Feenstra, reconciliation.

Run: python examples/full_analysis.py
"""

from __future__ import annotations

import warnings

import oilflows
from oilflows.analytics import (
    concentration,
    crude_slate,
    feenstra,
    price_spread,
    reconcile,
    shift_share,
    substitute_ranking,
)
from oilflows.analytics.breaks import multiple_breaks, sup_f_test
from oilflows.analytics.counterfactual import counterfactual, partner_series
from oilflows.analytics.panel_designs import did
from oilflows.analytics.synthetic_control import synthetic_control

frame = oilflows.load_default()
coifpm = oilflows.load_default(dataset="nrg_ti_coifpm")


def section(title: str) -> None:
    print(f"\n=== {title} ===")


section("Counterfactual: Kazakh barrels after the Druzhba stop (SARIMAX fitted 2020-2022)")
cf = counterfactual(coifpm, "DE", partner="KZ", shock="2023-01", post=("2023-01", "2023-12"),
                    displaced="RU")
print(f"coverage of the Russian shortfall: {cf.coverage:.1%} "
      f"[{cf.coverage_interval[0]:.1%}, {cf.coverage_interval[1]:.1%}]")

section("Structural breaks in Russian barrels")
ru = partner_series(coifpm, "DE", partner="RU")
print(sup_f_test(ru.dropna(), n_boot=199).summary().splitlines()[0])
print("Bai-Perron breaks:", [f"{b:%Y-%m}" for b in multiple_breaks(ru.dropna(), max_breaks=2).breaks])

section("Concentration (HHI, 0-10,000)")
hhi = concentration(coifpm, "DE", freq="A").table
print(hhi.loc["2020":"2023", ["hhi_disclosed", "hhi_world", "undisclosed_share"]].round(3))

section("Shift-share 2021 -> 2023 (monthly means, thousand barrels)")
shifts = shift_share(coifpm, "DE").to_frame().set_index("partner")
print((shifts.loc[["RU", "NO", "US", "KZ"]] / 1e3).round(0))

section("Quality of the German slate and the best substitutes for Russian Export Blend")
print(crude_slate(coifpm, "DE").table.loc["2020":"2023", ["api_gravity", "sulphur_pct_mass"]].round(2))
print(substitute_ranking(coifpm, displaced_grade="RU_EXP_BLN").to_frame().head(5))

section("CIF spread, CPC Blend over Russian Export Blend (USD/bbl)")
spread = price_spread(coifpm, "DE", substitute_grade="KZ_CPC_BLN",
                      displaced_grade="RU_EXP_BLN").to_frame().set_index("period")["spread"]
print(spread.loc["2022-01-01":"2023-12-01"].round(2).to_string())

section("Difference-in-differences: DE vs FR, IT, ES, NL (Kazakh share of WORLD)")
# confidential="drop" (the default): reporter-months with a confidential KZ cell are left out.
result = did(coifpm, ("DE",), partner="KZ", controls=("FR", "IT", "ES", "NL"), n_boot=499,
             confidential="drop")
print(f"confidential KZ months dropped: {result.panel.confidential_months}; {result.n_obs} reporter-months")
print(f"beta = {result.estimate:+.4f} (share of WORLD), wild-bootstrap 95% CI "
      f"[{result.ci_wild[0]:+.3f}, {result.ci_wild[1]:+.3f}], p = {result.p_wild:.2f}")
bounds = did(coifpm, treated=("DE",), controls=("FR", "IT", "ES", "NL"), inference="cluster",
             confidential="bounds", partner="KZ")
print(f"identified set of beta (every confidential month anywhere in its accounting bounds): "
      f"[{bounds.beta_bounds[0]:+.4f}, {bounds.beta_bounds[1]:+.4f}]")

section("Synthetic control for Germany")
synth = synthetic_control(coifpm, "DE", partner="KZ", confidential="drop")  # DE's KZ cell: confidential
print(f"{len(synth.paths)} months with an identified outcome ({synth.pre[0]:%Y-%m}..{synth.post[1]:%Y-%m})")
print(f"weights {synth.weights.round(3).to_dict()}; mean post gap {synth.effect:+.4f}; "
      f"post/pre RMSPE ratio {synth.ratio:.2f}; placebo p = {synth.p_value:.2f}")

section("Elasticity of substitution across origins (register 2013-2019; Feenstra 1994)")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # rho < 0 for Germany: the estimator warns, as documented
    sigma = feenstra(oilflows.load_default(dataset="coir"), "DE", reference="DZ")
print(f"sigma = {sigma.sigma:.2f} (SE {sigma.se_sigma:.2f}), n = {sigma.n_obs}, "
      f"{sigma.n_varieties} varieties")

section("Every source for DE <- KZ, thousand tonnes")
print(reconcile(frame, "DE", partner="KZ").summary().split("\n\n")[0])
