"""Benchmarks: each bench_*.py module has main() printing `bench: NAME VALUE UNIT` lines."""
