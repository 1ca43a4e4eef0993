"""Training of the single-image 3-D reconstruction of cartoon3d (Unsup3d, Wu et al., CVPR 2020)."""
