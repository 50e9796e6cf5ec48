"""The shared biometric engine: capture intake, template preparation, scores and FMRs."""
