"""The HTTP surface of the register, enrollment and adjudication: status codes and shapes."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.client import GatewayKey, new_nonce, seal_capture
from gateway.enrollment.models import Enrollment
from gateway.registry.rows import COLUMNS
from gateway.registry.synthetic import synthetic_rows
from tests.gateway.enrollment.world import TODAY, finger_record
from tests.gateway.signing import SignedClient, TerminalIdentity


@pytest.fixture
def gateway_app(app_factory: Callable[..., FastAPI]) -> FastAPI:
    """Some cases here send clear captures to reach the quality gate: asked for explicitly."""
    return app_factory(allow_plaintext_captures=True)


@pytest.fixture(autouse=True)
def _calibration(monkeypatch: pytest.MonkeyPatch, finger_calibration: Path) -> None:
    monkeypatch.setenv("SATUPINTU_FINGER_CALIBRATION_PATH", str(finger_calibration))


def _register(ops_client: SignedClient, households: int = 3) -> list[dict[str, str]]:
    rows = list(synthetic_rows(households=households, seed=11, today=TODAY))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    bad = dict(rows[0], nik="3201020101", family_card_number="3201029999999999")
    writer.writerow(bad)
    response = ops_client.post(
        "/v1/ops/registry/imports",
        content=text.getvalue().encode(),
        headers={"content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["imported"], body["errors"]) == (len(rows), 1)
    assert body["first_errors"][0]["code"] == "invalid_nik_length"
    report = ops_client.get(f"/v1/ops/registry/imports/{body['import_id']}/errors")
    assert report.status_code == 200 and "invalid_nik_length" in report.text
    return [r for r in rows if int(r["birth_date"][:4]) <= TODAY.year - 18]


def _sealed_fingers(
    terminal: TerminalIdentity, key: GatewayKey, nonce: str, seed: int, shot: int
) -> list[dict[str, object]]:
    return [
        {
            "position": p,
            "format": "iso19794-2",
            "sealed": seal_capture(
                finger_record(seed * 16 + p, shot, p),
                gateway_key=key,
                terminal_id=terminal.id,
                nonce=nonce,
                device_id=terminal.device_id,
                device_key=terminal.device_key,
            ),
        }
        for p in (2, 7)
    ]


def enroll_http(
    client: SignedClient,
    terminal: TerminalIdentity,
    key: GatewayKey,
    nik: str,
    seed: int,
    shot: int = 1,
) -> dict[str, object]:
    nonce = new_nonce()
    response = client.post(
        "/v1/enrollments",
        json={"nik": nik, "fingers": _sealed_fingers(terminal, key, nonce, seed, shot)},
        nonce=nonce,
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_import_enroll_deduplicate_and_adjudicate_over_http(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
) -> None:
    adults = _register(ops_client)
    first = enroll_http(terminal_client, terminal, gateway_key, adults[0]["nik"], seed=21)
    assert first["status"] == "enrolled"
    assert {c["capture"] for c in first["captures"]} == {"finger:2", "finger:7"}
    held = enroll_http(terminal_client, terminal, gateway_key, adults[1]["nik"], seed=21, shot=2)
    assert held["status"] == "pending_adjudication" and held["adjudication"]
    queue = ops_client.get("/v1/adjudications").json()
    assert [a["reference"] for a in queue] == [held["adjudication"]]
    assert queue[0]["candidates"][0]["person"] == first["person"]
    decided = ops_client.post(
        f"/v1/adjudications/{held['adjudication']}",
        json={"decision": "refuse", "reason": "same person, second NIK"},
    )
    assert decided.status_code == 200 and decided.json()["decision"] == "refuse"
    again = ops_client.post(
        f"/v1/adjudications/{held['adjudication']}",
        json={"decision": "enroll", "reason": "changed my mind"},
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "adjudication_decided"
    household = ops_client.get(f"/v1/ops/registry/households/{first['household']}").json()
    enrolled = [m for m in household["members"] if m["enrolled"]]
    assert [m["reference"] for m in enrolled] == [first["person"]]
    assert all(len(m["nik_last4"]) == 4 for m in household["members"])


def test_bad_enrollment_input_gets_4xx_codes_and_writes_nothing(
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    session_factory: sessionmaker[Session],
    api: TestClient,
) -> None:
    adults = _register(ops_client, households=1)
    nik = adults[0]["nik"]
    record = base64.b64encode(finger_record(5, 1, 2)).decode()
    cases = [
        (
            {"nik": nik, "fingers": [{"position": 2, "format": "iso19794-2", "data": record}]},
            {"content-type": "text/plain"},
            415,
            "unsupported_media_type",
        ),
        (
            {"nik": "3201", "fingers": [{"position": 2, "format": "iso19794-2", "data": record}]},
            None,
            422,
            "invalid_nik_length",
        ),
        (
            {
                "nik": "3201024506990001",
                "fingers": [{"position": 2, "format": "iso19794-2", "data": record}],
            },
            None,
            404,
            "unknown_person",
        ),
        ({"nik": nik}, None, 422, "capture_missing"),
        (
            {
                "nik": nik,
                "fingers": [
                    {
                        "position": 2,
                        "format": "image",
                        "data": base64.b64encode(b"\x89PNG broken").decode(),
                    }
                ],
            },
            None,
            422,
            "capture_rejected",
        ),
        (
            {"nik": nik, "fingers": [{"position": 11, "format": "image", "data": record}]},
            None,
            422,
            "invalid_request",
        ),
    ]
    for body, headers, status, code in cases:
        if headers:
            response = terminal_client.post(
                "/v1/enrollments", content=json.dumps(body).encode(), headers=headers
            )
        else:
            response = terminal_client.post("/v1/enrollments", json=body)
        assert response.status_code == status, (code, response.text)
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]
    unsigned = api.post("/v1/enrollments", json=cases[1][0])
    assert unsigned.status_code == 401
    huge = {"nik": nik, "fingers": [{"position": 2, "format": "image", "data": "A" * 3_000_000}]}
    oversized = terminal_client.post("/v1/enrollments", json=huge)
    assert oversized.status_code == 413
    assert oversized.json()["error"]["code"] == "payload_too_large"
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0
