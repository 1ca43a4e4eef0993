"""Training of the fast arbitrary-style model of ``portrait stylize`` (AdaIN on MobileNetV2)."""
