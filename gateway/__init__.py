"""Satu Pintu gateway: HTTP service, domain services and persistence."""
