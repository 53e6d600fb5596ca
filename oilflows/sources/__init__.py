"""One module per data source; each has ``read`` (parse local bytes) and ``fetch`` (download, then read)."""
