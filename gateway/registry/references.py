"""Opaque public references for identity rows."""

from __future__ import annotations

import secrets


def new_reference(prefix: str) -> str:
    """An opaque public reference: what the API shows instead of a NIK or a row id."""
    return f"{prefix}_{secrets.token_hex(10)}"
