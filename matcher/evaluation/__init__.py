"""Accuracy evaluation: labelled folders, FVC and all-pairs protocols, error rates."""
