"""NIKs at rest: found by a keyed hash, stored only as an envelope bound to the person row.

A plain SHA-256 of a NIK would be reversed by enumerating the ~10^11 plausible NIKs (the
structure is public: region, birth date, serial); HMAC with a key outside the database is not.
"""

from __future__ import annotations

import hashlib
import hmac

from gateway.crypto.envelope import open_sealed, seal
from gateway.crypto.keyring import KeyStore, key_store


def normalise_nik(nik: str) -> str:
    """The lookup key must not depend on stray spaces or separators a reader inserts."""
    return "".join(ch for ch in nik if ch.isdigit())


def nik_lookup_hash(nik: str, *, store: KeyStore | None = None) -> bytes:
    """HMAC-SHA256 of the normalised NIK under the ring's lookup key (32 bytes, indexable)."""
    key = (store or key_store()).current().nik_lookup_key
    return hmac.new(key, normalise_nik(nik).encode("ascii"), hashlib.sha256).digest()


def nik_aad(record_id: object) -> bytes:
    """The associated data binding an encrypted NIK to its person row."""
    return f"nik:person={record_id}".encode()


def seal_nik(nik: str, *, record_id: object, store: KeyStore | None = None) -> bytes:
    return seal(normalise_nik(nik).encode("ascii"), aad=nik_aad(record_id), store=store)


def open_nik(blob: bytes, *, record_id: object, store: KeyStore | None = None) -> str:
    return open_sealed(blob, aad=nik_aad(record_id), store=store).decode("ascii")
