"""Who may change who a person is: biometric updates, case-worker approvals, anomaly alerts."""
