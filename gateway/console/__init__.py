"""The operators' console: server-rendered pages for ops, case workers, supervisors and
auditors, served by the gateway itself and calling the same services as the ops API."""
