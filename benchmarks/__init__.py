"""Benchmarks: speed, memory and quality targets, run with `make bench` (never as timed tests)."""
