"""How far did Kazakh crude replace Russian crude in Germany? The whole analysis on the embedded data.

Run: python examples/kazakh_for_russian.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys

import oilflows
from oilflows.analytics import substitution, substitution_bounds, supplier_shares, volume_bounds

frame = oilflows.load_default()  # every reporter: the density of undisclosed grades uses them all

# 1. Who replaced Russia, 2021 vs 2023, in barrels (Eurostat nrg_ti_coifpm, grade level).
result = substitution(frame, reporter="DE", displaced="RU", substitute="KZ",
                      baseline=("2021-01", "2021-12"), post=("2023-01", "2023-12"))
print(result.summary())

# 2. What the data identify: the coverage for every split of the confidential cells, from the grade
#    detail alone, then narrowed by Eurostat's partner totals and the published figures (BAFA,
#    Destatis, KEBCO through Druzhba: 993 kt in 2023 bounds the confidential KZ_MSC cells from below).
windows = {"baseline": ("2021-01", "2021-12"), "post": ("2023-01", "2023-12")}
for totals in (None, ["nrg_ti_oil"], ["nrg_ti_oil", "published"]):
    b = substitution_bounds(frame, "DE", displaced="RU", substitute="KZ", **windows, totals=totals)
    used = ", ".join(totals or ["grade detail alone"])
    print(f"coverage {b.coverage[0]:7.1%} .. {b.coverage[1]:6.1%}  ({used})")
print(f"disclosed cells alone: {result.coverage:.1%}")
kz = volume_bounds(frame, "DE", partner="KZ", start="2021-01", end="2021-12", totals=["nrg_ti_oil"])
print(f"DE <- KZ 2021: {kz.lower / 1e6:.1f} .. {kz.upper / 1e6:.1f} Mbbl "
      f"(disclosed {kz.disclosed / 1e6:.1f})")

# 3. Kazakh share of Germany's imports per year: exact where nothing is confidential, else bounds.
shares = supplier_shares(frame, "DE", freq="A", dataset="nrg_ti_coifpm").to_frame()
kz_share = shares[(shares["partner"] == "KZ") & (shares["period"].dt.year >= 2020)]
print("\nKZ share of DE crude imports (nrg_ti_coifpm, share of WORLD):")
for _, row in kz_share.iterrows():
    print(f"  {row['period']:%Y}: {row['share_of_world_lower']:.2%} .. {row['share_of_world_upper']:.2%}"
          f" ({row['months']} months, {row['confidential']} confidential cells)")

# 4. The long view: the EU import register 2013-2019 (pipelines missing for Germany before 2020).
pre_war = substitution(frame, "DE", baseline=("2013-01", "2013-12"), post=("2019-01", "2019-12"),
                       dataset="coir", displaced="RU", substitute="KZ")
kz_pre = pre_war.replacement.loc["KZ"]
print(f"\nregister: KZ {kz_pre['baseline_total'] / 1e3:,.0f} kbbl in 2013, "
      f"{kz_pre['post_total'] / 1e3:,.0f} kbbl in 2019")

if len(sys.argv) > 1:
    from oilflows.report import build_report

    paths = build_report(frame).write(sys.argv[1])
    print("wrote", ", ".join(str(p) for p in paths.values()))
