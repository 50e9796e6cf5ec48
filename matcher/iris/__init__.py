"""Iris engine: segmentation, rubber-sheet normalisation, iris codes, 1:1 and 1:N matching."""
