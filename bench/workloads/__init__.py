"""One module per workload; each exposes ``run(bench) -> dict`` returning JSON-able figures."""
