"""Training of the fast arbitrary-style model of ``portrait stylize`` (WCT or AdaIN on MobileNetV2)."""
