"""Generic statistical file formats (SDMX-CSV, JSON-stat) parsed to long tables of codes and values."""

__all__: list[str] = []  # the submodules are the API
