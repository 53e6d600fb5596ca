"""How much of Germany's "Kazakh" crude depends on Russian ports and pipelines, and could any of it be
Russian? The other half of the substitution question, on the embedded data.

Run: python examples/kazakh_routes.py
"""

from __future__ import annotations

import oilflows
from oilflows.analytics.mass_balance import exporter_balance
from oilflows.analytics.relabelling import relabelling_signals
from oilflows.analytics.route_exposure import route_exposure

frame = oilflows.load_default()

# 1. Kazakh crude in Germany's 2023 imports by route (Eurostat nrg_ti_coifpm grade cells; the route
#    table oilflows/data/routes.csv maps KZ_CPC_BLN to the CPC terminal near Novorossiysk and KZ_MSC,
#    where KEBCO via Druzhba lands for Germany from February 2023, to the Russian pipeline).
detail = route_exposure(frame, "DE", partner="KZ", start="2023-01", end="2023-12")
fused = route_exposure(frame, "DE", partner="KZ", start="2023-01", end="2023-12",
                       totals=["nrg_ti_oil", "published"])
print(fused.summary())
print(f"\nshare through Russian infrastructure: {detail.russian_share[0]:.1%} .. "
      f"{detail.russian_share[1]:.1%} from the grade detail alone, {fused.russian_share[0]:.1%} .. "
      f"{fused.russian_share[1]:.1%} with partner totals and published KEBCO deliveries")

# 2. Russian crude arriving as CPC Blend (RU_CPC) in Germany, 2021.
ru = route_exposure(frame, "DE", partner="RU", start="2021-01", end="2021-12")
cpc = ru.route("cpc")
print(f"\nRU crude as CPC Blend in DE, 2021: {cpc['lower'] / 1e6:.1f} .. {cpc['upper'] / 1e6:.1f} Mbbl")

# 3. Relabelling signals (none is proof; each says what it cannot show).
print()
print(relabelling_signals(frame, "DE", partner="KZ", displaced="RU").summary())
print()
print(relabelling_signals(frame, "IT", partner="KZ", displaced="RU").summary())

# 4. Exporter mass balance: what EU importers report buying from Kazakhstan against its published exports.
balance = exporter_balance(frame, "KZ", years=range(2018, 2023))
print()
print(balance.summary())
