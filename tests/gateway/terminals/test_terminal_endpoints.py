"""The ops API: register, list, change status; only `ops` operators may change things."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.service import verify_chain
from gateway.client import RequestSigner
from gateway.db import unit_of_work
from gateway.terminals.keys import encode_public_key
from gateway.terminals.models import OperatorRole
from tests.gateway.signing import SignedClient, register_operator


def _new_terminal(terminal_id: str, key: Ed25519PrivateKey) -> dict[str, str]:
    return {
        "id": terminal_id,
        "agent_name": "Agen Laku Pandai",
        "bank_code": "bri",
        "province_code": "32",
        "regency_code": "04",
        "public_key": encode_public_key(key.public_key().public_bytes_raw()),
    }


def test_register_list_and_revoke_a_terminal(
    ops_client: SignedClient, session_factory: sessionmaker[Session]
) -> None:
    key = Ed25519PrivateKey.generate()
    created = ops_client.post("/v1/ops/terminals", json=_new_terminal("T-9", key))
    assert created.status_code == 201, created.text
    assert created.json()["bank_code"] == "BRI"
    assert created.json()["status"] == "active"
    again = ops_client.post("/v1/ops/terminals", json=_new_terminal("T-9", key))
    assert again.status_code == 409
    listed = ops_client.get("/v1/ops/terminals", params={"province_code": "32"})
    assert [t["id"] for t in listed.json()] == ["T-9"]
    revoked = ops_client.post("/v1/ops/terminals/T-9/status", json={"status": "revoked"})
    assert revoked.json()["status"] == "revoked"
    back = ops_client.post("/v1/ops/terminals/T-9/status", json={"status": "active"})
    assert back.status_code == 409
    assert back.json()["error"]["code"] == "status_change_refused"
    with session_factory() as session:
        result = verify_chain(session=session)
    # Operator registration, terminal registration, revocation: every decision is audited.
    assert result.ok and result.entries == 3


def test_pem_public_keys_are_accepted_and_bad_keys_refused(ops_client: SignedClient) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    body = _new_terminal("T-PEM", key) | {"public_key": pem}
    assert ops_client.post("/v1/ops/terminals", json=body).status_code == 201
    short = _new_terminal("T-BAD", key) | {"public_key": base64.b64encode(b"x" * 31).decode()}
    refused = ops_client.post("/v1/ops/terminals", json=short)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "bad_public_key"


def test_devices_register_and_follow_their_terminal(
    ops_client: SignedClient, session_factory: sessionmaker[Session]
) -> None:
    key, device = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    ops_client.post("/v1/ops/terminals", json=_new_terminal("T-D", key))
    added = ops_client.post(
        "/v1/ops/terminals/T-D/devices",
        json={
            "id": "D-1",
            "model": "sensor",
            "public_key": encode_public_key(device.public_key().public_bytes_raw()),
        },
    )
    assert added.status_code == 201, added.text
    ops_client.post("/v1/ops/terminals/T-D/status", json={"status": "revoked"})
    devices = ops_client.get("/v1/ops/terminals/T-D/devices").json()
    assert [(d["id"], d["status"]) for d in devices] == [("D-1", "revoked")]


def test_auditor_reads_but_cannot_change(
    api: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with unit_of_work(session_factory) as session:
        key = register_operator(session, "aud-1", OperatorRole.auditor, "Auditor")
    auditor = SignedClient(api, RequestSigner(key_id="aud-1", private_key=key))
    assert auditor.get("/v1/ops/terminals").status_code == 200
    refused = auditor.post(
        "/v1/ops/terminals", json=_new_terminal("T-X", Ed25519PrivateKey.generate())
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "operator_forbidden"


def test_unknown_terminal_is_404(ops_client: SignedClient) -> None:
    response = ops_client.get("/v1/ops/terminals/nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "principal_not_found"


def test_operators_are_listed_with_roles(ops_client: SignedClient) -> None:
    listed = ops_client.get("/v1/ops/operators")
    assert listed.status_code == 200
    assert [(o["id"], o["role"], o["status"]) for o in listed.json()] == [
        ("ops-1", "ops", "active")
    ]
