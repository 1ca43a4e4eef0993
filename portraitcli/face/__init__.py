"""Face detection, alignment to a model's template, and paste-back."""
