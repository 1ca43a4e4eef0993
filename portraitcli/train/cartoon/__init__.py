"""Training of the 2-D cartoon generator of cartoon3d (paired, on the Toonify-style pairs)."""
