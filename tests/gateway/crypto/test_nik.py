"""NIK lookup hashes are keyed and stable; encrypted NIKs are bound to their person row."""

from __future__ import annotations

import hashlib

import pytest

from gateway.crypto.errors import EnvelopeError
from gateway.crypto.keyring import KeyRing, KeyStore
from gateway.crypto.nik import nik_lookup_hash, open_nik, seal_nik

NIK = "3201014506900001"


def test_lookup_hash_is_keyed_stable_and_normalised(key_store: KeyStore, tmp_path) -> None:
    digest = nik_lookup_hash(NIK)
    assert len(digest) == 32
    assert digest == nik_lookup_hash("3201 0145 0690 0001")
    assert digest != hashlib.sha256(NIK.encode()).digest()
    other = KeyStore(path=tmp_path / "other.json", env_value=None)
    other.save(KeyRing.generate())
    assert nik_lookup_hash(NIK, store=other) != digest


def test_encrypted_nik_opens_only_on_its_row(key_store: KeyStore) -> None:
    blob = seal_nik(NIK, record_id="p_1")
    assert NIK.encode() not in blob
    assert open_nik(blob, record_id="p_1") == NIK
    with pytest.raises(EnvelopeError):
        open_nik(blob, record_id="p_2")
