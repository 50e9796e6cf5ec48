"""Pure biometric library: images to templates to scores, 1:N indexes, synthetic data."""
