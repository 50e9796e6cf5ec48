"""Bank adapter plugins behind one protocol.

- `base`: the `BankAdapter` protocol, value types (whole rupiah as int) and typed errors.
- `registry`: plugin discovery (entry point group `satupintu.adapters`), bank code -> adapter.
- `bank`, `frontdesk`, `faults`, `simulated`: a complete simulated bank, deterministic fault
  injection in front of it, and the in-process adapter.
- `iso20022/`: pacs.008 / pacs.002 / pacs.028 / pacs.004 / camt.053, an httpx client, a server.
- `snap/`: the SNAP transfer adapter (RSA access token, HMAC-SHA512 calls) and its server.
- `conformance`: the pytest kit every adapter passes.
"""
