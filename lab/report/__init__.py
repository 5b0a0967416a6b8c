"""Stage 6, reports for people: rich tables of plans, status, checks and benchmarks."""
