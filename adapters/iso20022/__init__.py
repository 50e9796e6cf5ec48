"""ISO 20022 bank messages (pacs.008, pacs.002, pacs.028, camt.053), an HTTP client and a server."""
