"""PyTorch networks the product shares with training: pretrained feature extractors for
losses and metrics (VGG-19, FaceNet; frozen TensorFlow graphs run in torch). Needs torch (the
``train`` or ``eval`` extra); the layers below import it lazily, inside the functions that need it."""
