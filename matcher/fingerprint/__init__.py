"""Fingerprint pipeline: image to minutiae, templates, and 1:1 comparison."""
