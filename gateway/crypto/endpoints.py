"""Publishes the gateway's HPKE public keys for capture devices to seal biometrics to."""

from __future__ import annotations

import base64

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.crypto.capture import SUITE_NAME
from gateway.crypto.keyring import key_store

router = APIRouter(tags=["keys"])


class PublishedKey(BaseModel):
    key_id: str
    public_key: str


class BiometricKeys(BaseModel):
    suite: str
    current: PublishedKey
    previous: PublishedKey | None


@router.get(
    "/v1/keys/biometric",
    summary="The gateway's current HPKE key (and the previous one, accepted during rotation)",
)
def biometric_keys() -> BiometricKeys:
    ring = key_store().current()

    def published(kid: str) -> PublishedKey:
        raw = ring.hpke_public(kid).public_bytes_raw()
        return PublishedKey(key_id=kid, public_key=base64.b64encode(raw).decode("ascii"))

    return BiometricKeys(
        suite=SUITE_NAME,
        current=published(ring.active_hpke),
        previous=published(ring.previous_hpke) if ring.previous_hpke else None,
    )
