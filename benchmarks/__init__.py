"""Benchmarks: ``python -m benchmarks [--quick]`` prints every figure with its baseline."""
