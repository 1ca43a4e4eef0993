"""Metrics as plain functions on arrays; they never import a model."""
