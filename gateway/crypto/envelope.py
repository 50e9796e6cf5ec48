"""AES-256-GCM envelopes: a fresh data key per record, wrapped by a KEK named in the blob.

Layout (all lengths in bytes)::

    magic "SPE1" (4) | kek id length n (1) | kek id (n, ASCII)
    | wrapped data key (40, RFC 3394 AES key wrap) | nonce (12) | ciphertext + tag (len+16)

The data is encrypted under the data key with associated data = a domain label and the
caller's `aad` (the record's identity, e.g. `b"template:person=42:finger=2"`), so a blob
copied to another row fails to open. The KEK id is only a pointer: pointing it elsewhere makes
the key unwrap fail (RFC 3394 carries its own integrity check). Rotating a KEK therefore only
re-wraps the 40-byte data key: the ciphertext is untouched and no plaintext is exposed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from gateway.crypto.errors import EnvelopeError
from gateway.crypto.keyring import KeyStore, key_store

MAGIC = b"SPE1"
_DOMAIN = b"satupintu/envelope/v1\x00"
_WRAPPED_LEN = 40
_NONCE_LEN = 12


@dataclass(frozen=True)
class _Parsed:
    kek_id: str
    wrapped: bytes
    nonce: bytes
    ciphertext: bytes


def _header(kek_id: str) -> bytes:
    encoded = kek_id.encode("ascii")
    if not 0 < len(encoded) < 256:
        raise EnvelopeError("A key id must be 1-255 ASCII characters.")
    return MAGIC + bytes([len(encoded)]) + encoded


def _parse(blob: bytes) -> _Parsed:
    if len(blob) < 5 or blob[:4] != MAGIC:
        raise EnvelopeError("The stored value is not a Satu Pintu envelope.")
    n = blob[4]
    body_at = 5 + n
    if len(blob) < body_at + _WRAPPED_LEN + _NONCE_LEN + 16:
        raise EnvelopeError("The stored envelope is truncated.")
    try:
        kek_id = blob[5:body_at].decode("ascii")
    except UnicodeDecodeError as exc:
        raise EnvelopeError("The stored envelope has a malformed key id.") from exc
    wrapped_end = body_at + _WRAPPED_LEN
    return _Parsed(
        kek_id=kek_id,
        wrapped=blob[body_at:wrapped_end],
        nonce=blob[wrapped_end : wrapped_end + _NONCE_LEN],
        ciphertext=blob[wrapped_end + _NONCE_LEN :],
    )


def envelope_kek_id(blob: bytes) -> str:
    """Which KEK wraps this envelope (rotation uses it to skip up-to-date rows)."""
    return _parse(blob).kek_id


def _kek(store: KeyStore, kek_id: str) -> bytes:
    kek = store.current().kek(kek_id)
    if kek is None:
        # Another process may have rotated the ring since we loaded it.
        kek = store.refresh().kek(kek_id)
    if kek is None:
        raise EnvelopeError("The envelope's key is not in the key ring.", key_id=kek_id)
    return kek


def seal(plaintext: bytes, *, aad: bytes, store: KeyStore | None = None) -> bytes:
    """Encrypt one record's secret under a fresh data key wrapped by the active KEK."""
    store = store or key_store()
    ring = store.current()
    header = _header(ring.active_kek)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(_NONCE_LEN)
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _DOMAIN + aad)
    wrapped = aes_key_wrap(ring.keks[ring.active_kek], data_key)
    return header + wrapped + nonce + ciphertext


def open_sealed(blob: bytes, *, aad: bytes, store: KeyStore | None = None) -> bytes:
    """Decrypt an envelope; fails if it belongs to another record (aad) or was altered."""
    parsed = _parse(blob)
    kek = _kek(store or key_store(), parsed.kek_id)
    try:
        data_key = aes_key_unwrap(kek, parsed.wrapped)
        return AESGCM(data_key).decrypt(parsed.nonce, parsed.ciphertext, _DOMAIN + aad)
    except (InvalidUnwrap, InvalidTag) as exc:
        raise EnvelopeError("The stored envelope does not open for this record.") from exc


def rewrap(blob: bytes, *, store: KeyStore | None = None) -> bytes:
    """The same envelope with its data key wrapped by the active KEK (no plaintext exposed)."""
    store = store or key_store()
    parsed = _parse(blob)
    ring = store.current()
    if parsed.kek_id == ring.active_kek:
        return blob
    try:
        data_key = aes_key_unwrap(_kek(store, parsed.kek_id), parsed.wrapped)
    except InvalidUnwrap as exc:
        raise EnvelopeError("The stored envelope's data key does not unwrap.") from exc
    wrapped = aes_key_wrap(ring.keks[ring.active_kek], data_key)
    return _header(ring.active_kek) + wrapped + parsed.nonce + parsed.ciphertext
