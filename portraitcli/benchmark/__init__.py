"""Benchmarks: run shipped models on test splits and score them with the metrics."""
