"""Envelopes open only for their own record, resist tampering, and survive KEK rotation."""

from __future__ import annotations

import pytest

from gateway.crypto.envelope import envelope_kek_id, open_sealed, rewrap, seal
from gateway.crypto.errors import EnvelopeError
from gateway.crypto.keyring import KeyStore

AAD = b"template:person=p_1:finger=2"


def test_round_trip_and_fresh_data_key_per_record(key_store: KeyStore) -> None:
    first, second = seal(b"minutiae", aad=AAD), seal(b"minutiae", aad=AAD)
    assert first != second
    assert b"minutiae" not in first
    assert open_sealed(first, aad=AAD) == b"minutiae"
    assert envelope_kek_id(first) == key_store.current().active_kek


def test_envelope_moved_to_another_record_fails(key_store: KeyStore) -> None:
    blob = seal(b"minutiae", aad=AAD)
    with pytest.raises(EnvelopeError) as failed:
        open_sealed(blob, aad=b"template:person=p_2:finger=2")
    assert failed.value.code == "envelope_invalid"


@pytest.mark.parametrize("position", [5, 30, 60, -1])
def test_any_flipped_byte_fails(key_store: KeyStore, position: int) -> None:
    blob = bytearray(seal(b"minutiae", aad=AAD))
    blob[position] ^= 0x01
    with pytest.raises(EnvelopeError):
        open_sealed(bytes(blob), aad=AAD)


def test_truncated_or_foreign_bytes_fail(key_store: KeyStore) -> None:
    with pytest.raises(EnvelopeError):
        open_sealed(b"SPE1", aad=AAD)
    with pytest.raises(EnvelopeError):
        open_sealed(b"not an envelope at all, really not", aad=AAD)


def test_rewrap_changes_only_the_wrapping(key_store: KeyStore) -> None:
    blob = seal(b"minutiae", aad=AAD)
    old_kek = envelope_kek_id(blob)
    key_store.save(key_store.current().with_new_kek())
    rewrapped = rewrap(blob)
    assert envelope_kek_id(rewrapped) != old_kek
    assert rewrapped[-24:] == blob[-24:]  # the ciphertext itself is untouched
    assert open_sealed(rewrapped, aad=AAD) == b"minutiae"
    assert open_sealed(blob, aad=AAD) == b"minutiae"  # old KEK still accepted
    assert rewrap(rewrapped) == rewrapped


def test_unknown_kek_fails_without_naming_key_material(key_store: KeyStore) -> None:
    blob = seal(b"minutiae", aad=AAD)
    ring = key_store.current()
    stripped = type(ring)(
        keks={"other": bytes(32)},
        active_kek="other",
        hpke=ring.hpke,
        active_hpke=ring.active_hpke,
        nik_lookup_key=ring.nik_lookup_key,
        audit_key=ring.audit_key,
    )
    key_store.save(stripped)
    with pytest.raises(EnvelopeError) as failed:
        open_sealed(blob, aad=AAD)
    assert "minutiae" not in str(failed.value)
