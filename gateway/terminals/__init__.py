"""Terminal registry, capture devices, operators and RFC 9421 request authentication."""
