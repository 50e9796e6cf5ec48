"""Bank adapter plugins behind one protocol."""
