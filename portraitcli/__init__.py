"""portraitcli: portrait stylization with models trained in PyTorch and run with ONNX Runtime.

Importing this package is cheap: it imports neither torch nor onnxruntime. It does switch
off ONNX Runtime's telemetry for the process: releases from 1.29 on send usage events from
Linux and macOS (a DNS lookup and upload after about 10 s of inference) unless
``ORT_DISABLE_TELEMETRY=1`` is set before the first session, and portraitcli makes no
network access at run time. Setting the variable yourself (to anything) takes precedence.
"""

import os

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
