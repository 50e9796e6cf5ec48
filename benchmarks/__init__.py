"""Benchmarks that measure speed, accuracy and load, writing results under benchmarks/results/."""
