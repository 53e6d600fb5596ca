"""How far did Kazakh crude replace Russian crude in Germany? The whole analysis on the embedded data.

Run: python examples/kazakh_for_russian.py [OUTPUT_DIR]
"""

from __future__ import annotations

import sys

import oilflows
from oilflows.analytics import substitution, supplier_shares
from oilflows.units import barrels_per_tonne

frame = oilflows.load_default(reporter="DE")

# 1. Who replaced Russia, 2021 vs 2023, in barrels (Eurostat nrg_ti_coifpm, grade level).
result = substitution(frame, reporter="DE", displaced="RU", substitute="KZ",
                      baseline=("2021-01", "2021-12"), post=("2023-01", "2023-12"))
print(result.summary())

# 2. Sensitivity: add the published KEBCO volume piped through Druzhba in 2023 (993 kt, KazMunayGas),
#    which Eurostat hides in the confidential KZ_MSC cells, converted at KEBCO's gravity (30.6 API).
kebco_bbl_per_month = 993e3 * barrels_per_tonne(30.6) / 12
with_kebco = (result.gain + kebco_bbl_per_month) / result.shortfall
print(f"\ncoverage with published KEBCO added: {with_kebco:.1%} (disclosed only: {result.coverage:.1%})")

# 3. Kazakh share of Germany's imports per year, of all origins and of disclosed volume.
shares = supplier_shares(frame, "DE", freq="A", dataset="nrg_ti_coifpm").to_frame()
kz = shares[(shares["partner"] == "KZ") & (shares["period"].dt.year >= 2020)]
print("\nKZ share of DE crude imports (nrg_ti_coifpm):")
for _, row in kz.iterrows():
    print(f"  {row['period']:%Y}: {row['share_of_world']:.2%} of WORLD, "
          f"{row['share_of_disclosed']:.2%} of disclosed ({row['months']} months)")

# 4. The long view: the EU import register 2013-2019 (pipelines missing for Germany before 2020).
pre_war = substitution(frame, baseline=("2013-01", "2013-12"), post=("2019-01", "2019-12"),
                       dataset="coir")
kz_pre = pre_war.replacement.loc["KZ"]
print(f"\nregister: KZ {kz_pre['baseline_total'] / 1e3:,.0f} kbbl in 2013, "
      f"{kz_pre['post_total'] / 1e3:,.0f} kbbl in 2019")

if len(sys.argv) > 1:
    from oilflows.report import build_report

    paths = build_report(frame).write(sys.argv[1])
    print("wrote", ", ".join(str(p) for p in paths.values()))
