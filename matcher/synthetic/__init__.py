"""Synthetic biometric data with ground truth, so tests and benchmarks need no real people."""
