"""Our sealed captures are plain RFC 9180 base mode, so terminal vendors can interoperate.

An independent, from-the-RFC decryption (section 4.1 DHKEM, section 5.1 key schedule, built
on X25519, HMAC and AES-GCM primitives) must open what `cryptography`'s HPKE suite seals.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from gateway.crypto.capture import SUITE, capture_info

KEM_ID, KDF_ID, AEAD_ID = 0x0020, 0x0001, 0x0002  # RFC 9180 section 7 registries


def _i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def _extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def _expand(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _expand(prk, _i2osp(length, 2) + b"HPKE-v1" + suite + label + info, length)


def rfc9180_open(sealed: bytes, recipient: X25519PrivateKey, info: bytes) -> bytes:
    enc, ciphertext = sealed[:32], sealed[32:]
    kem_suite = b"KEM" + _i2osp(KEM_ID, 2)
    dh = recipient.exchange(X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + recipient.public_key().public_bytes_raw()
    eae_prk = _labeled_extract(kem_suite, b"", b"eae_prk", dh)
    shared = _labeled_expand(kem_suite, eae_prk, b"shared_secret", kem_context, 32)
    suite = b"HPKE" + struct.pack(">HHH", KEM_ID, KDF_ID, AEAD_ID)
    psk_id_hash = _labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash  # mode_base
    secret = _labeled_extract(suite, shared, b"secret", b"")
    key = _labeled_expand(suite, secret, b"key", context, 32)
    base_nonce = _labeled_expand(suite, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(base_nonce, ciphertext, b"")  # sequence number 0


def test_library_seal_opens_with_the_rfc_key_schedule() -> None:
    recipient = X25519PrivateKey.generate()
    info = capture_info(
        terminal_id="T-1", nonce="n-123456789", device_id="D-1", captured_at=1, key_id="hpke-1"
    )
    plaintext = b"FMR\x00 20\x00" + bytes(range(256))
    sealed = SUITE.encrypt(plaintext, recipient.public_key(), info=info)
    assert rfc9180_open(sealed, recipient, info) == plaintext
