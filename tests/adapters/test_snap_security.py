"""The SNAP server checks what the standard requires, and the client signs it correctly."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.base import AccountRef, OutcomeUnknown, TransferRejected, TransferRequest
from adapters.conformance import ConformanceTarget
from adapters.snap.client import SnapAdapter
from adapters.snap.server import SnapPartner, create_snap_app
from adapters.snap.signing import (
    minify,
    service_string,
    sign_service,
    sign_token_request,
    verify_token_request,
)
from adapters.transport import InProcessTransport


def test_service_string_follows_the_standard() -> None:
    body = b'{ "partnerReferenceNo": "PAY-1",\n  "amount": {"value": "1.00", "currency": "IDR"} }'
    minified = b'{"partnerReferenceNo":"PAY-1","amount":{"value":"1.00","currency":"IDR"}}'
    assert minify(body) == minified
    digest = hashlib.sha256(minified).hexdigest()
    expected = f"POST:/snap/v1.0/transfer-intrabank:TOKEN:{digest}:2026-01-05T09:00:00+07:00"
    text = service_string(
        "post", "/snap/v1.0/transfer-intrabank", "TOKEN", body, "2026-01-05T09:00:00+07:00"
    )
    assert text == expected.encode()
    mac = hmac.new(b"secret", expected.encode(), hashlib.sha512).digest()
    assert (
        sign_service(
            "secret",
            "POST",
            "/snap/v1.0/transfer-intrabank",
            "TOKEN",
            body,
            "2026-01-05T09:00:00+07:00",
        )
        == base64.b64encode(mac).decode()
    )


def test_minifying_keeps_every_literal_as_the_bank_wrote_it() -> None:
    """A bank body with a numeric literal (and escapes) signs over the literal, not a float."""
    body = (
        b'{\n  "amount": { "value": 10000.00, "currency": "IDR" },\n'
        b'  "fee": 2.50e0,\n  "note": "a \\"quoted\\" word,  spaced \\u00e9",\n  "ok": true\n}'
    )
    minified = (
        b'{"amount":{"value":10000.00,"currency":"IDR"},"fee":2.50e0,'
        b'"note":"a \\"quoted\\" word,  spaced \\u00e9","ok":true}'
    )
    assert minify(body) == minified
    timestamp = "2026-01-05T09:00:00+07:00"
    digest = hashlib.sha256(minified).hexdigest()
    expected = f"POST:/snap/v1.0/transfer-interbank:TOKEN:{digest}:{timestamp}".encode()
    mac = hmac.new(b"secret", expected, hashlib.sha512).digest()
    signature = sign_service(
        "secret", "POST", "/snap/v1.0/transfer-interbank", "TOKEN", body, timestamp
    )
    assert signature == base64.b64encode(mac).decode()


def test_minifying_refuses_a_body_that_is_not_json() -> None:
    with pytest.raises(ValueError):
        minify(b'{"amount": 10000.00')


def test_token_signature_is_rsa_over_client_key_and_timestamp(
    snap_key: rsa.RSAPrivateKey,
) -> None:
    signature = sign_token_request(snap_key, "SATUPINTU01", "2026-01-05T09:00:00+07:00")
    public = snap_key.public_key()
    assert verify_token_request(public, "SATUPINTU01", "2026-01-05T09:00:00+07:00", signature)
    assert not verify_token_request(public, "SATUPINTU02", "2026-01-05T09:00:00+07:00", signature)
    assert not verify_token_request(public, "SATUPINTU01", "2026-01-05T09:00:01+07:00", signature)


def _adapter(target: ConformanceTarget, partner: SnapPartner, **overrides: object) -> SnapAdapter:
    app = create_snap_app(target.bank, partner, faults=target.faults, sleep=target.clock.sleep)
    options: dict[str, object] = {
        "base_url": "http://snap.bank.test",
        "source_account": AccountRef(target.bank.bank_code, target.bank.settlement_account),
        "client_id": partner.client_id,
        "client_secret": partner.client_secret,
        "transport": InProcessTransport(app),
        "sleep": target.clock.sleep,
        "clock": target.clock,
    }
    options.update(overrides)
    return SnapAdapter(**options)  # type: ignore[arg-type]


def test_wrong_hmac_secret_is_refused_and_nothing_is_paid(
    snap_target: ConformanceTarget, snap_partner: SnapPartner, snap_key: rsa.RSAPrivateKey
) -> None:
    adapter = _adapter(snap_target, snap_partner, private_key=snap_key, client_secret="guess")
    with pytest.raises(TransferRejected) as caught:
        adapter.submit(TransferRequest("SEC-1", 10_000, snap_target.creditor))
    assert caught.value.reason_code == "4011700"
    assert snap_target.bank.lookup("SEC-1") is None


def test_token_signed_with_another_key_is_refused(
    snap_target: ConformanceTarget, snap_partner: SnapPartner
) -> None:
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    adapter = _adapter(snap_target, snap_partner, private_key=intruder)
    with pytest.raises(TransferRejected) as caught:
        adapter.submit(TransferRequest("SEC-2", 10_000, snap_target.creditor))
    assert caught.value.reason_code == "4017300"
    assert snap_target.bank.lookup("SEC-2") is None


def test_expired_token_is_renewed(snap_target: ConformanceTarget) -> None:
    adapter = snap_target.adapter
    adapter.submit(TransferRequest("SEC-3", 10_000, snap_target.creditor))
    snap_target.clock.advance(3600)
    assert adapter.submit(TransferRequest("SEC-4", 10_000, snap_target.creditor)).amount == 10_000


def _signed_call(
    client: httpx.Client, partner: SnapPartner, token: str, external_id: str, timestamp: str
) -> httpx.Response:
    body = b'{"originalPartnerReferenceNo":"SEC-5","serviceCode":"17"}'
    path = "/snap/v1.0/transfer/status"
    return client.post(
        path,
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "X-TIMESTAMP": timestamp,
            "X-SIGNATURE": sign_service(
                partner.client_secret, "POST", path, token, body, timestamp
            ),
            "X-PARTNER-ID": partner.client_id,
            "X-EXTERNAL-ID": external_id,
            "CHANNEL-ID": partner.channel_id,
        },
    )


def test_external_id_reuse_and_stale_timestamps_are_refused(
    snap_target: ConformanceTarget, snap_partner: SnapPartner, snap_key: rsa.RSAPrivateKey
) -> None:
    app = create_snap_app(snap_target.bank, snap_partner, sleep=snap_target.clock.sleep)
    client = httpx.Client(base_url="http://snap.bank.test", transport=InProcessTransport(app))
    now = snap_target.clock().astimezone().isoformat()
    token_response = client.post(
        "/snap/v1.0/access-token/b2b",
        content=b'{"grantType":"client_credentials"}',
        headers={
            "X-TIMESTAMP": now,
            "X-CLIENT-KEY": snap_partner.client_id,
            "X-SIGNATURE": sign_token_request(snap_key, snap_partner.client_id, now),
        },
    )
    token = token_response.json()["accessToken"]
    assert _signed_call(client, snap_partner, token, "1001", now).status_code == 200
    replay = _signed_call(client, snap_partner, token, "1001", now)
    assert (replay.status_code, replay.json()["responseCode"]) == (409, "4093600")
    snap_target.clock.advance(3600)
    stale = _signed_call(client, snap_partner, token, "1002", now)
    assert stale.status_code == 401
    client.close()


def test_unreachable_bank_is_an_unknown_outcome(
    snap_partner: SnapPartner, snap_key: rsa.RSAPrivateKey, snap_target: ConformanceTarget
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    adapter = _adapter(
        snap_target, snap_partner, private_key=snap_key, transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(OutcomeUnknown):
        adapter.submit(TransferRequest("SEC-6", 10_000, snap_target.creditor))
