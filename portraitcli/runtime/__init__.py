"""Shipped weights registry and ONNX Runtime sessions (onnxruntime is imported lazily)."""
