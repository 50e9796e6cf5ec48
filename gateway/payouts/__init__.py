"""Payouts: programmes and entitlements, the double-entry ledger, one-stop pay, reconciliation."""
