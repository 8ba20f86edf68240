"""Imaging: reading and writing images (the one place tensors are converted), colour, resizing,
tiled inference and the IDX format."""
