"""The identity attacks of a hostile agent terminal, run against a live gateway with the demo
register: each row says what the attacker tried, what the gateway answered, and whether it
was refused. Part of `satupintu bench security` (the `attacks` key of its JSON).

The attacker is the Surabaya demo terminal (`T-3578-DEMO`) with its own valid key and
capture device; the victims are enrolled demo people of Kabupaten Bogor (region 3201).
"""

from __future__ import annotations

import base64
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from benchmarks.live import demo_probes, load_key
from gateway import client
from gateway.client import GatewayKey, SignatureAuth
from gateway.db import unit_of_work
from gateway.demo import CASE_WORKER_ID, INDEX_FINGERS
from gateway.demo import finger_record as demo_finger
from gateway.terminals.models import PrincipalStatus
from gateway.terminals.service import set_operator_status
from gateway.verification import repository

HOSTILE = "T-3578-DEMO"
HOME = "T-3201-DEMO"
# Synthetic people who are in no register: the attacker's own fingers.
ATTACKER_FINGERS = 999_990
CASE_WORKER_FINGERS = 999_999  # the demo pendamping's fingers (see `gateway.demo`)


@dataclass(frozen=True)
class AttackRow:
    threat: str
    attack: str
    expected: str
    status: int
    answer: str
    refused: bool
    ms: float


class Terminal:
    """A demo terminal as an attacker or a genuine agent drives it: signs, seals, sends."""

    def __init__(self, api: TestClient, keys: Path, terminal_id: str, gateway_key: GatewayKey):
        self.api = api
        self.id = terminal_id
        signer = client.RequestSigner(
            key_id=terminal_id, private_key=load_key(keys / f"{terminal_id}.pem")
        )
        self.auth = SignatureAuth(signer)
        self.device_key = load_key(keys / f"D-{terminal_id}.pem")
        self.gateway_key = gateway_key

    def fingers(self, records: dict[int, bytes], nonce: str) -> list[dict[str, Any]]:
        return [
            {
                "position": pos,
                "format": "iso19794-2",
                "sealed": client.seal_capture(
                    record,
                    gateway_key=self.gateway_key,
                    terminal_id=self.id,
                    nonce=nonce,
                    device_id=f"D-{self.id}",
                    device_key=self.device_key,
                ),
            }
            for pos, record in records.items()
        ]

    def post(
        self, url: str, records: dict[int, bytes] | None = None, **body: Any
    ) -> httpx.Response:
        nonce = client.new_nonce()
        if records is not None:
            body["fingers"] = self.fingers(records, nonce)
        extensions = {client.NONCE_EXTENSION: nonce}
        return self.api.post(url, json=body, auth=self.auth, extensions=extensions)


def _answer(response: httpx.Response) -> str:
    body = response.json()
    if isinstance(body, dict) and "error" in body:
        return str(body["error"]["code"])
    if isinstance(body, dict):
        return str(body.get("status") or body.get("decision") or "ok")
    return "ok"


def _fingers_of(seed: int, shot: int) -> dict[int, bytes]:
    return {pos: demo_finger(seed, pos, shot) for pos in INDEX_FINGERS}


def run_attacks(api: TestClient, demo: Path) -> list[AttackRow]:
    """Every attack once (the replay 35 times), in an order where none spoils the next; the
    revoked case worker comes last but the leaks, as revoking spoils the fallback attacks."""
    keys = demo / "keys"
    gateway_key = GatewayKey.from_published(api.get("/v1/keys/biometric").json()["current"])
    hostile = Terminal(api, keys, HOSTILE, gateway_key)
    home = Terminal(api, keys, HOME, gateway_key)
    victims = [p for p in demo_probes(demo) if p.terminal_id == HOME]
    rows: list[AttackRow] = []

    def attempt(
        threat: str,
        attack: str,
        expected: str,
        send: Callable[[], httpx.Response],
        refused: Callable[[httpx.Response], bool],
    ) -> httpx.Response:
        started = time.perf_counter()
        response = send()
        ms = (time.perf_counter() - started) * 1000
        rows.append(
            AttackRow(
                threat, attack, expected, response.status_code, _answer(response),
                refused(response), round(ms, 1),
            )
        )  # fmt: skip
        return response

    victim = victims[0]
    attempt(
        "re-enrolment takeover",
        "re-enrol a 3201 person with the attacker's fingers", "held: pending_update",
        lambda: hostile.post("/v1/enrollments", _fingers_of(ATTACKER_FINGERS, 1), nik=victim.nik),
        lambda r: r.status_code == 201 and r.json()["status"] == "pending_update",
    )  # fmt: skip
    forged = base64.b64encode(b"\0" * 64).decode()
    attempt(
        "self-registered case worker", "register a case worker with the terminal's signature alone",
        "404 unknown_case_worker_approval",
        lambda: hostile.post(
            "/v1/case-workers", _fingers_of(ATTACKER_FINGERS, 2), operator_id=CASE_WORKER_ID,
            approval="cwa_forged", operator_signature=forged,
        ),
        lambda r: r.status_code == 404,
    )  # fmt: skip
    locked = victims[1]
    for shot in range(5):
        home.post(
            "/v1/verify", _fingers_of(ATTACKER_FINGERS, 10 + shot), mode="1:1", nik=locked.nik
        )
    factory = api.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        worker = repository.case_worker_by_operator(session, CASE_WORKER_ID)
    assert worker is not None, "the demo registers its pendamping"
    reference = worker.reference

    def vouch(nik: str) -> httpx.Response:
        nonce = client.new_nonce()
        captures = home.fingers(_fingers_of(CASE_WORKER_FINGERS, 2), nonce)
        return api.post(
            "/v1/verify",
            json={
                "mode": "fallback", "nik": nik,
                "vouch": {"case_worker": reference, "reason": "worn fingerprints, known to me",
                          "captures": {"fingers": captures}},
            },
            auth=home.auth, extensions={client.NONCE_EXTENSION: nonce},
        )  # fmt: skip

    attempt(
        "fallback past lockout",
        "supervised fallback for a NIK locked after 5 failures", "423 nik_locked",
        lambda: vouch(locked.nik), lambda r: r.status_code == 423,
    )  # fmt: skip
    genuine = home.post("/v1/verify", victims[2].records, mode="1:1", nik=victims[2].nik)
    replay_ms: list[float] = []

    def replay() -> httpx.Response:
        response = api.send(genuine.request)
        for _ in range(34):
            started = time.perf_counter()
            api.send(genuine.request)
            replay_ms.append((time.perf_counter() - started) * 1000)
        return response

    attempt(
        "replay", "resend one captured verify request 35 times", "401 replayed_request, no work",
        replay, lambda r: r.status_code == 401,
    )  # fmt: skip
    rows[-1] = AttackRow(**{**rows[-1].__dict__, "ms": round(statistics.median(replay_ms), 1)})
    far_victim = victims[3] if len(victims) > 3 else victims[2]
    for shot in range(5):
        hostile.post(
            "/v1/verify", _fingers_of(ATTACKER_FINGERS, 20 + shot), mode="1:1", nik=far_victim.nik
        )
    attempt(
        "lock anyone",
        "lock a 3201 person from Surabaya, then verify them at home", "200 match at home",
        lambda: home.post("/v1/verify", far_victim.records, mode="1:1", nik=far_victim.nik),
        lambda r: r.status_code == 200 and r.json()["decision"] == "match",
    )  # fmt: skip
    clear = [
        {"position": pos, "format": "iso19794-2", "data": base64.b64encode(rec).decode()}
        for pos, rec in victims[2].records.items()
    ]
    attempt(
        "clear captures",
        "send captures in clear (unsealed, unsigned)", "422 capture_must_be_sealed",
        lambda: hostile.post("/v1/verify", mode="1:1", nik=victims[2].nik, fingers=clear),
        lambda r: r.status_code == 422,
    )  # fmt: skip
    one = hostile.post("/v1/verify", {2: victims[2].records[2]}, mode="1:1", nik=victims[2].nik)
    attempt(
        "no region policy", "cash out a 3201 household at a Surabaya agent (one-finger match)",
        "403 out_of_region_not_allowed / step_up_required",
        lambda: api.post(
            "/v1/payouts", json={"token": one.json().get("token") or "x" * 20},
            headers={"Idempotency-Key": "attack-far-away"}, auth=hostile.auth,
        ),
        lambda r: r.status_code == 403,
    )  # fmt: skip
    with unit_of_work(factory) as session:  # `satupintu operators revoke pendamping-demo`
        set_operator_status(
            session=session,
            operator_id=CASE_WORKER_ID,
            status=PrincipalStatus.revoked,
            actor="bench",
        )
    attempt(
        "revoked case worker",
        "fallback vouched by a revoked case worker", "403 case_worker_inactive",
        lambda: vouch(victims[2].nik), lambda r: r.status_code == 403,
    )  # fmt: skip
    attempt(
        "ops routes published", "read the ops routes in /openapi.json", "no /v1/ops paths",
        lambda: api.get("/openapi.json"),
        lambda r: not [p for p in r.json()["paths"] if p.startswith("/v1/ops")],
    )  # fmt: skip
    stranger = victims[2].nik[:12] + ("9999" if victims[2].nik[12:] != "9999" else "9998")
    wrong = home.post(
        "/v1/verify",
        _fingers_of(ATTACKER_FINGERS, 30),
        mode="1:1",
        nik=victims[4 % len(victims)].nik,
    )

    def same_as_wrong_finger(r: httpx.Response) -> bool:
        strip = ("verification", "attempts_left")
        a = {k: v for k, v in r.json().items() if k not in strip}
        b = {k: v for k, v in wrong.json().items() if k not in strip}
        return r.status_code == wrong.status_code and a == b

    attempt(
        "NIK oracle", "probe the register with a NIK nobody holds", "same answer as a wrong finger",
        lambda: home.post(
            "/v1/verify", _fingers_of(ATTACKER_FINGERS, 30), mode="1:1", nik=stranger
        ),
        same_as_wrong_finger,
    )  # fmt: skip
    attempt(
        "body before signature", "unsigned malformed JSON", "401 signature_missing",
        lambda: api.post(
            "/v1/verify", content=b'{"mode": ', headers={"content-type": "application/json"}
        ),
        lambda r: r.status_code == 401,
    )  # fmt: skip
    return rows
