"""Components: the interfaces plugins implement (Degradation, Restorer, Metric, Backend) and the
shared machinery of network restorers (weights, backends, tiling)."""
