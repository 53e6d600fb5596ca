"""One module per data source; each has ``read`` (parse local bytes) and ``fetch`` (download, then read).

Every source is registered once in :mod:`oilflows.sources.registry` (datasets, units, hosts and rate
limits, credentials, non-country codes, known causes): ``registry.get("eurostat")``,
``registry.all_sources()``; adding a source is described in docs/sources.md.
"""

__all__: list[str] = []  # the submodules are the API
