"""Locust load test: agent terminals verifying and paying, and an ops console watching.

Run by `satupintu-bench load` / `satupintu-bench payout`, or by hand against any gateway
whose database holds the prepared gallery and terminals::

    SATUPINTU_LOAD_MANIFEST=load.json locust -f benchmarks/load/locustfile.py \\
        --host https://gateway.example --headless --csv out/load

Every terminal user owns one registered terminal key (RFC 9421 signatures on every request)
and one capture device (captures HPKE-sealed and device-signed for that very request). The
mix (`SATUPINTU_LOAD_PROFILE`):

- `mixed`: 1:1 with NIK, cardless 1:N, e-KTP (card + live), each followed by entitlements
  and a cash-out payout; plus failed captures: walk-in strangers (cardless, no match) and
  poor captures claiming decoy NIKs (no match, or the NIK locked after repeated failures).
- `payout`: 1:1 verify then pay, each household once (the payout throughput benchmark).
- `verify`: 1:1 verify only, back to back (the verification throughput benchmark).

Terminals serve people of their own region (region policy limits payouts elsewhere), and
travel only when their region has no one left to pay. Expected refusals (no_match, a decoy's
`nik_locked`, a household already paid, a programme that pays only at home) are answers, not
errors; anything else (5xx, an unexpected 4xx, a failed genuine match) is an error. The
SLO gate at exit sets a non-zero exit code when the error ratio or a p99 exceeds its limit.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import random
import time
import uuid
from collections import deque
from typing import Any, Literal

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from locust import FastHttpUser, LoadTestShape, User, between, constant, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import LocalRunner

from gateway.client import GatewayKey, RequestSigner, new_nonce, seal_capture

log = logging.getLogger("satupintu.load")

PROFILE = os.environ.get("SATUPINTU_LOAD_PROFILE", "mixed")
FLOW = "FLOW"  # request type of the end-to-end entries (verify → pay) in Locust's stats
BIOMETRIC = "BIOMETRIC"  # request type counting false matches and false non-matches
Truth = Literal["genuine", "impostor", "poor"]
# Refusals a failed capture legitimately gets: a decoy NIK locked after repeated failures,
# a capture the quality gate turned away.
EXPECTED_FAILED_CAPTURE = frozenset({"nik_locked", "capture_rejected"})


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _load_manifest() -> dict[str, Any]:
    path = os.environ.get("SATUPINTU_LOAD_MANIFEST")
    if not path:
        raise RuntimeError("set SATUPINTU_LOAD_MANIFEST to the file `satupintu-bench load` wrote")
    with open(path, encoding="utf-8") as handle:
        manifest: dict[str, Any] = json.load(handle)
    return manifest


MANIFEST = _load_manifest()
_terminal_numbers = itertools.count()
_rng = random.Random(int(os.environ.get("SATUPINTU_LOAD_SEED", "11")))


def _partition(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """This worker's share (`SATUPINTU_LOAD_PARTITION=i/n`), so workers never pay twice."""
    index, count = (int(x) for x in os.environ.get("SATUPINTU_LOAD_PARTITION", "0/1").split("/"))
    return items[index::count]


def _one_per_household(people: list[dict[str, Any]]) -> deque[dict[str, Any]]:
    seen: set[str] = set()
    queue: deque[dict[str, Any]] = deque()
    for person in people:
        if person["household"] not in seen and not person["graduated"]:
            seen.add(person["household"])
            queue.append(person)
    return queue


PEOPLE = _partition(MANIFEST["people"])
PEOPLE_BY_REGION: dict[str, list[dict[str, Any]]] = {}
for _person in PEOPLE:
    PEOPLE_BY_REGION.setdefault(_person["region"], []).append(_person)
# Refusals of a payout that are policy, not failure: already paid, or region policy.
EXPECTED_PAYOUT_REFUSALS = frozenset(
    {
        "nothing_due",
        "entitlement_already_claimed",
        "out_of_region_not_allowed",
        "out_of_region_daily_cap",
    }
)
# Each worker drives its own terminals (when there are enough to go round).
TERMINALS = _partition(MANIFEST["terminals"]) or MANIFEST["terminals"]
UNPAID = _one_per_household(PEOPLE)


def _private_key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def signed_headers(
    signer: RequestSigner, method: str, url: str, body: bytes | None, nonce: str
) -> dict[str, str]:
    """The RFC 9421 headers for this exact request, computed by the terminal client's signer.

    FastHttpUser does not send through httpx, so the request is built as an `httpx.Request`
    only to be signed, and its signature headers are copied onto the real one.
    """
    headers = {"content-type": "application/json"} if body is not None else {}
    request = httpx.Request(method, url, content=body or b"", headers=headers)
    signer.sign(request, nonce=nonce)
    names = ("content-type", "content-digest", "signature-input", "signature")
    return {name: request.headers[name] for name in names if name in request.headers}


class SignedUser(FastHttpUser):
    """A principal holding a key: every request it sends is signed."""

    abstract = True
    signer: RequestSigner

    def send(
        self,
        method: str,
        path: str,
        *,
        name: str,
        body: dict[str, Any] | None = None,
        nonce: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        # ASCII JSON: the bytes signed are exactly the bytes sent.
        data = json.dumps(body, separators=(",", ":")) if body is not None else None
        signed = signed_headers(
            self.signer,
            method,
            f"{self.host}{path}",
            data.encode("ascii") if data is not None else None,
            nonce or new_nonce(),
        )
        return self.client.request(
            method,
            path,
            data=data,
            headers={**signed, **(headers or {})},
            name=name,
            catch_response=True,
        )


def _pick(items: list[Any]) -> Any:
    return items[_rng.randrange(len(items))]


def _biometric(name: str) -> None:
    """Count a biometric outcome worth watching; it is an answer, not a service error."""
    events.request.fire(
        request_type=BIOMETRIC,
        name=name,
        response_time=0,
        response_length=0,
        exception=None,
        context={},
    )


def _error_code(response: Any) -> str:
    try:
        return str(response.json()["error"]["code"])
    except Exception:
        return ""


class AgentTerminal(SignedUser):
    """An agent's terminal: verifies a beneficiary, then pays the household in cash."""

    # Think time between customers (s); a deployed gateway's per-terminal rate limit (120 per
    # minute by default) needs it raised, or more terminals, unless the limits are lifted.
    wait_time = (
        constant(0)
        if PROFILE in ("payout", "verify")
        else between(
            _env_float("SATUPINTU_LOAD_WAIT_MIN", 0.05), _env_float("SATUPINTU_LOAD_WAIT_MAX", 0.3)
        )
    )
    weight = 20

    def on_start(self) -> None:
        terminals = TERMINALS
        terminal = terminals[next(_terminal_numbers) % len(terminals)]
        self.terminal_id: str = terminal["id"]
        self.region: str = terminal["region"]
        self.signer = RequestSigner(
            key_id=self.terminal_id, private_key=_private_key(terminal["key"])
        )
        self.device_id: str = terminal["device_id"]
        self.device_key = _private_key(terminal["device_key"])
        published = self.client.get("/v1/keys/biometric")
        self.gateway_key = GatewayKey.from_published(published.json()["current"])

    # -- one request each --------------------------------------------------------------

    def _fingers(self, records: dict[str, str], nonce: str) -> list[dict[str, Any]]:
        return [
            {
                "position": int(position),
                "format": "iso19794-2",
                "sealed": seal_capture(
                    base64.b64decode(record),
                    gateway_key=self.gateway_key,
                    terminal_id=self.terminal_id,
                    nonce=nonce,
                    device_id=self.device_id,
                    device_key=self.device_key,
                ),
            }
            for position, record in records.items()
        ]

    def verify(
        self, body: dict[str, Any], records: dict[str, str], *, label: str, truth: Truth
    ) -> str | None:
        """Send one sealed verification; the token on a match, None otherwise.

        The decision itself is never an HTTP error: a genuine person not recognised or a
        stranger recognised is counted as a biometric outcome (type BIOMETRIC) instead.
        """
        nonce = new_nonce()
        payload = {**body, "fingers": self._fingers(records, nonce)}
        with self.send(
            "POST", "/v1/verify", name=f"/v1/verify [{label}]", body=payload, nonce=nonce
        ) as response:
            if response.status_code == 200:
                response.success()
                answer = response.json()
                matched = answer["decision"] == "match"
                if truth == "genuine" and not matched:
                    _biometric(f"false non-match [{label}]")
                elif truth == "impostor" and matched:
                    _biometric(f"false match [{label}]")
                return str(answer["token"]) if matched and answer.get("token") else None
            code = _error_code(response)
            if truth != "genuine" and code in EXPECTED_FAILED_CAPTURE:
                response.success()  # what a failed capture looks like at the counter
            else:
                response.failure(f"HTTP {response.status_code} {code}")
            return None

    def pay(self, token: str) -> bool:
        """Entitlements (mixed profile) then a cash-out; True when a payout committed."""
        if PROFILE != "payout":
            with self.send(
                "GET",
                "/v1/entitlements",
                name="/v1/entitlements",
                headers={"X-Verification-Token": token},
            ) as response:
                if response.status_code == 200:
                    response.success()
                else:
                    response.failure(f"HTTP {response.status_code} {_error_code(response)}")
                    return False
        with self.send(
            "POST",
            "/v1/payouts",
            name="/v1/payouts",
            body={"token": token, "channel": "cash_out"},
            headers={"Idempotency-Key": f"load-{uuid.uuid4().hex}"},
        ) as response:
            code = _error_code(response)
            if response.status_code in (200, 202):
                response.success()
                return response.status_code == 200 and response.json()["state"] == "committed"
            if code in EXPECTED_PAYOUT_REFUSALS and (
                PROFILE != "payout" or code.startswith("out_of_region")
            ):
                response.success()  # already paid this period, or paid only at home
            else:
                response.failure(f"HTTP {response.status_code} {code}")
            return False

    def verify_and_pay(self, body: dict[str, Any], records: dict[str, str], mode: str) -> None:
        began = time.perf_counter()
        token = self.verify(body, records, label=mode, truth="genuine")
        if token is None:
            return
        if self.pay(token):
            events.request.fire(
                request_type=FLOW,
                name=f"verify {mode} + pay",
                response_time=1000 * (time.perf_counter() - began),
                response_length=0,
                exception=None,
                context={},
            )

    # -- the mix -------------------------------------------------------------------------

    def _someone(self) -> dict[str, Any]:
        """Someone of this terminal's region (anyone, where the region has no one)."""
        people = PEOPLE_BY_REGION.get(self.region) or PEOPLE
        return people[_rng.randrange(len(people))]

    def _unpaid(self) -> dict[str, Any]:
        """The next unpaid household of this terminal's region, else of any region."""
        for position, person in enumerate(UNPAID):
            if person["region"] == self.region:
                del UNPAID[position]
                return person
        return UNPAID.popleft()

    @task(50)
    def one_to_one(self) -> None:
        if PROFILE == "verify":
            person = self._someone()
            self.verify(
                {"mode": "1:1", "nik": person["nik"]}, person["probe"], label="1:1", truth="genuine"
            )
            return
        if PROFILE == "payout":
            if not UNPAID:
                raise StopUser()
            person = self._unpaid()
        else:
            person = self._someone()
        self.verify_and_pay({"mode": "1:1", "nik": person["nik"]}, person["probe"], "1:1")

    @task(20 if PROFILE == "mixed" else 0)
    def cardless(self) -> None:
        person = self._someone()
        self.verify_and_pay({"mode": "1:N"}, person["probe"], "1:N")

    @task(15 if PROFILE == "mixed" else 0)
    def ektp(self) -> None:
        person = self._someone()
        body = {"mode": "ektp", "nik": person["nik"], "card_template": {"data": person["card"]}}
        self.verify_and_pay(body, person["probe"], "ektp")

    @task(5 if PROFILE == "mixed" else 0)
    def walk_in_stranger(self) -> None:
        """Cardless, with fingers enrolled nowhere."""
        self.verify(
            {"mode": "1:N"}, _pick(MANIFEST["strangers"]), label="1:N stranger", truth="impostor"
        )

    @task(5 if PROFILE == "mixed" else 0)
    def impostor_claim(self) -> None:
        """A stranger's fingers claiming a decoy's NIK."""
        decoy = _pick(MANIFEST["decoys"])
        body = {"mode": "1:1", "nik": decoy["nik"]}
        self.verify(body, _pick(MANIFEST["strangers"]), label="1:1 impostor", truth="impostor")

    @task(5 if PROFILE == "mixed" else 0)
    def poor_capture(self) -> None:
        """A decoy's own finger, badly placed and dry: it may or may not be recognised."""
        decoy = _pick(MANIFEST["decoys"])
        body = {"mode": "1:1", "nik": decoy["nik"]}
        self.verify(body, decoy["poor"], label="1:1 poor", truth="poor")


class OpsConsole(SignedUser):
    """The operations desk: readiness, Prometheus metrics and ledger balances, every few s."""

    fixed_count = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        ops = MANIFEST["ops"]
        self.signer = RequestSigner(key_id=ops["id"], private_key=_private_key(ops["key"]))

    def _get(self, path: str) -> None:
        with self.send("GET", path, name=path) as response:
            if response.status_code == 200:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code} {_error_code(response)}")

    @task
    def poll(self) -> None:
        self._get("/readyz")
        self._get("/metrics")
        self._get("/v1/ops/ledger/balances")


class StepLoad(LoadTestShape):
    """Step load: `STEP_USERS` more terminals every `STEP_SECONDS`, up to `MAX_USERS`.

    Set STEP_USERS = MAX_USERS for a constant load (the payout benchmark does).
    """

    def __init__(self) -> None:
        super().__init__()
        self.step_users = int(_env_float("SATUPINTU_LOAD_STEP_USERS", 4))
        self.step_seconds = _env_float("SATUPINTU_LOAD_STEP_SECONDS", 30)
        self.max_users = int(_env_float("SATUPINTU_LOAD_MAX_USERS", 16))
        self.seconds = _env_float("SATUPINTU_LOAD_SECONDS", 300)

    def tick(self) -> tuple[int, float, list[type[User]] | None] | None:
        elapsed = self.get_run_time()
        if elapsed >= self.seconds:
            return None
        if PROFILE == "payout" and not UNPAID and isinstance(self.runner, LocalRunner):
            return None  # every household has been paid: the benchmark is over
        step = int(elapsed // self.step_seconds) + 1
        users = min(self.max_users, step * self.step_users)
        if PROFILE in ("payout", "verify"):
            return users, float(users), [AgentTerminal]
        return users + 1, float(users + 1), [AgentTerminal, OpsConsole]


def _slo_breaches(environment: Environment) -> list[str]:
    """What broke the service level: the error ratio, any request's or flow's p99."""
    max_error = _env_float("SATUPINTU_SLO_MAX_ERROR_RATIO", 0.0)
    max_p99 = _env_float("SATUPINTU_SLO_P99_MS", 1000)
    max_flow_p99 = _env_float("SATUPINTU_SLO_FLOW_P99_MS", 2000)
    stats = environment.stats
    breaches = []
    if stats.total.num_requests == 0:
        breaches.append("no requests were made")
    if stats.total.fail_ratio > max_error:
        breaches.append(f"error ratio {stats.total.fail_ratio:.4f} > {max_error}")
    for (name, method), entry in stats.entries.items():
        if entry.num_requests == 0:
            continue
        if method == BIOMETRIC:
            continue
        limit = max_flow_p99 if method == FLOW else max_p99
        p99 = entry.get_response_time_percentile(0.99)
        if p99 > limit:
            breaches.append(f"{method} {name}: p99 {p99:.0f} ms > {limit:.0f} ms")
    return breaches


@events.quitting.add_listener
def slo_gate(environment: Environment, **_kwargs: Any) -> None:
    if environment.parsed_options is not None and getattr(
        environment.parsed_options, "worker", False
    ):
        return  # the master judges the aggregated figures
    breaches = _slo_breaches(environment)
    for breach in breaches:
        log.error("SLO breached: %s", breach)
    # The gate decides alone: expected refusals were marked successes, so any failure left is
    # unexpected and already counts in the error ratio.
    environment.process_exit_code = 1 if breaches else 0
