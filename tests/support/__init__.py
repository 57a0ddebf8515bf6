"""What tests and benchmarks share: scratch databases, the extraction harness."""
