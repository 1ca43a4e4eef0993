"""portraitcli: portrait stylization with models trained in PyTorch and run with ONNX Runtime.

Importing this package is cheap: it imports neither torch nor onnxruntime.
"""

__version__ = "0.1.0"
