"""`satupintu-bench payout --in-process`: the service's own cost of verify + pay, no Locust.

`workers` processes each run the gateway's ASGI app on the prepared database and call it
directly (httpx's ASGI transport: no socket, no HTTP server), each on its own share of the
households and terminals. Captures are sealed and verify requests signed before the clock
starts (that is the terminal's work); a payout request can only be signed once its token is
known, so that signing is timed apart and taken off the gateway's CPU.

Two measured phases per process:
- flow: verify 1:1 then pay, `concurrency` agents at once, one household each time;
- pay alone: tokens made first (unmeasured), then only `POST /v1/payouts` is measured.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event
from sqlalchemy.engine import Engine

from benchmarks.live import in_process_app, percentile, run_worker_processes
from benchmarks.load.profiling import ThreadProfiler
from gateway.client import GatewayKey, RequestSigner, new_nonce, seal_capture
from gateway.settings import Settings


@dataclass(frozen=True)
class _Agent:
    terminal_id: str
    signer: RequestSigner
    device_id: str
    device_key: Ed25519PrivateKey


def _key(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def _signed(
    agent: _Agent, method: str, path: str, body: dict[str, Any] | None, **headers: str
) -> httpx.Request:
    content = json.dumps(body, separators=(",", ":")).encode() if body is not None else b""
    if body is not None:
        headers["content-type"] = "application/json"
    request = httpx.Request(method, f"http://testserver{path}", content=content, headers=headers)
    agent.signer.sign(request, nonce=new_nonce())
    return request


def _verify_request(agent: _Agent, person: dict[str, Any], gateway_key: GatewayKey) -> Any:
    """A sealed, signed 1:1 verification, as the agent's terminal sends it."""
    nonce = new_nonce()
    fingers = [
        {
            "position": int(position),
            "format": "iso19794-2",
            "sealed": seal_capture(
                base64.b64decode(record),
                gateway_key=gateway_key,
                terminal_id=agent.terminal_id,
                nonce=nonce,
                device_id=agent.device_id,
                device_key=agent.device_key,
            ),
        }
        for position, record in person["probe"].items()
    ]
    body = {"mode": "1:1", "nik": person["nik"], "fingers": fingers}
    content = json.dumps(body, separators=(",", ":")).encode()
    request = httpx.Request(
        "POST",
        "http://testserver/v1/verify",
        content=content,
        headers={"content-type": "application/json"},
    )
    agent.signer.sign(request, nonce=nonce)
    return request


class _Phase:
    """Latencies and outcomes of one measured phase, and the client CPU to take off."""

    def __init__(self) -> None:
        self.flow_s: list[float] = []
        self.pay_s: list[float] = []
        self.outcomes: dict[str, int] = {}
        self.client_cpu = 0.0
        self.cpu = 0.0
        self.wall = 0.0
        self.statements = 0

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def summary(self) -> dict[str, Any]:
        return {
            "flow_s": self.flow_s,
            "pay_s": self.pay_s,
            "outcomes": self.outcomes,
            "cpu": self.cpu - self.client_cpu,
            "wall": self.wall,
            "statements": self.statements,
        }


async def _pay(client: httpx.AsyncClient, agent: _Agent, token: str, phase: _Phase) -> bool:
    began = time.thread_time()
    request = _signed(
        agent,
        "POST",
        "/v1/payouts",
        {"token": token, "channel": "cash_out"},
        **{"Idempotency-Key": f"bench-{uuid.uuid4().hex}"},
    )
    phase.client_cpu += time.thread_time() - began
    started = time.perf_counter()
    response = await client.send(request)
    phase.pay_s.append(time.perf_counter() - started)
    if response.status_code == 200 and response.json()["state"] == "committed":
        return True
    phase.count(f"pay_http_{response.status_code}:{response.json().get('state', '')}")
    return False


class _StatementCounter:
    """SQL statements every engine of this process sends: the round trips a payout costs."""

    def __init__(self) -> None:
        self.count = 0
        event.listen(Engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


async def _measure(
    work: list[Any],
    concurrency: int,
    one: Callable[[Any], Awaitable[None]],
    phase: _Phase,
    statements: _StatementCounter,
    profile_stem: Path | None = None,
) -> None:
    pending = list(reversed(work))

    async def loop() -> None:
        while pending:
            await one(pending.pop())

    profiler = ThreadProfiler() if profile_stem is not None else contextlib.nullcontext()
    cpu, wall, sent = time.process_time(), time.perf_counter(), statements.count
    with profiler:
        await asyncio.gather(*(loop() for _ in range(concurrency)))
    phase.cpu, phase.wall = time.process_time() - cpu, time.perf_counter() - wall
    phase.statements = statements.count - sent
    if isinstance(profiler, ThreadProfiler) and profile_stem is not None:
        profiler.write(profile_stem)


def _worker(
    index: int,
    count: int,
    manifest_path: str,
    data_dir: str,
    database_url: str,
    concurrency: int,
    profile_prefix: str,
    barrier: Any,
    results: Any,
) -> None:
    """One gateway process: its app on the shared database, its share of households.

    With a `profile_prefix`, each measured phase runs under cProfile, on every thread (it
    about doubles the CPU a payout, so that run's figures are not comparable), and its
    profile is written to `<prefix>_<phase>_w<index>.{prof,txt}`.
    """
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    seen: set[str] = set()
    people = []
    for person in manifest["people"]:
        if person["household"] not in seen and not person["graduated"]:
            seen.add(person["household"])
            people.append(person)
    mine = people[index::count]
    terminals = manifest["terminals"][index::count] or manifest["terminals"]
    agents = [
        _Agent(
            t["id"],
            RequestSigner(key_id=t["id"], private_key=_key(t["key"])),
            t["device_id"],
            _key(t["device_key"]),
        )
        for t in terminals
    ]
    app = in_process_app(Path(data_dir), database_url)
    statements = _StatementCounter()

    async def run() -> dict[str, Any]:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver", timeout=60
            ) as client,
        ):
            published = (await client.get("/v1/keys/biometric")).json()["current"]
            gateway_key = GatewayKey.from_published(published)
            # Half the households for the flow, half for pay alone; requests built ahead.
            jobs = [
                (agents[i % len(agents)], _verify_request(agents[i % len(agents)], p, gateway_key))
                for i, p in enumerate(mine)
            ]
            flow_jobs, pay_jobs = jobs[0::2], jobs[1::2]
            flow, pay_alone = _Phase(), _Phase()

            async def verify_and_pay(job: tuple[_Agent, Any]) -> None:
                agent, request = job
                started = time.perf_counter()
                response = await client.send(request)
                body = response.json()
                if response.status_code != 200 or body["decision"] != "match":
                    flow.count(f"verify_http_{response.status_code}:{body.get('decision')}")
                    return
                if await _pay(client, agent, body["token"], flow):
                    flow.flow_s.append(time.perf_counter() - started)
                    flow.count("paid")

            tokens: list[tuple[_Agent, str]] = []
            for agent, request in pay_jobs:
                answer = (await client.send(request)).json()
                if answer.get("decision") == "match":
                    tokens.append((agent, answer["token"]))

            async def pay_only(job: tuple[_Agent, str]) -> None:
                if await _pay(client, job[0], job[1], pay_alone):
                    pay_alone.count("paid")

            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)

            def stem(phase: str) -> Path | None:
                return Path(f"{profile_prefix}_{phase}_w{index}") if profile_prefix else None

            await _measure(
                flow_jobs, concurrency, verify_and_pay, flow, statements, stem("verify_and_pay")
            )
            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            await _measure(tokens, concurrency, pay_only, pay_alone, statements, stem("pay_alone"))
            return {"flow": flow.summary(), "pay_alone": pay_alone.summary()}

    try:
        results.put(asyncio.run(run()))
    except Exception:  # reported to the parent, which would otherwise wait for nothing
        results.put({"error": traceback.format_exc()})
        raise


def _phase_result(parts: list[dict[str, Any]]) -> dict[str, Any]:
    flow_s = [x for part in parts for x in part["flow_s"]]
    pay_s = [x for part in parts for x in part["pay_s"]]
    outcomes: dict[str, int] = {}
    for part in parts:
        for key, value in part["outcomes"].items():
            outcomes[key] = outcomes.get(key, 0) + value
    paid = outcomes.get("paid", 0)
    wall = max(part["wall"] for part in parts)
    cpu = sum(part["cpu"] for part in parts)
    statements = sum(part["statements"] for part in parts)
    return {
        "payouts": paid,
        "seconds": wall,
        "payouts_per_s": paid / wall if wall else 0.0,
        "flow_p50_ms": 1000 * percentile(flow_s, 0.50),
        "flow_p99_ms": 1000 * percentile(flow_s, 0.99),
        "pay_p50_ms": 1000 * percentile(pay_s, 0.50),
        "pay_p99_ms": 1000 * percentile(pay_s, 0.99),
        "gateway_cpu_ms_per_payout": 1000 * cpu / paid if paid else None,
        "projected_payouts_per_s_2_cores": 2 * paid / cpu if cpu else None,
        "sql_statements_per_payout": statements / paid if paid else None,
        "outcomes": outcomes,
    }


def _first_start(data_dir: Path, database_url: str) -> None:
    """Start and stop one app alone (budget funding), as a deployment's first process does."""
    from gateway.app import create_app

    app = create_app(Settings(data_dir=data_dir, database_url=database_url))

    async def start_stop() -> None:
        async with app.router.lifespan_context(app):
            pass

    asyncio.run(start_stop())


def run_in_process(
    *,
    manifest: Path,
    data_dir: Path,
    database_url: str,
    workers: int,
    concurrency: int,
    profile_prefix: str = "",
) -> dict[str, Any]:
    """Both phases over `workers` app processes; flow and pay-alone figures."""
    _first_start(data_dir, database_url)
    parts = run_worker_processes(
        _worker,
        lambda i: (
            i,
            workers,
            str(manifest),
            str(data_dir),
            database_url,
            concurrency,
            profile_prefix,
        ),
        workers,
    )
    failed = [part["error"] for part in parts if "error" in part]
    if failed:
        raise RuntimeError(f"an in-process benchmark worker failed:\n{failed[0]}")
    return {
        "mode": "in_process",
        "workers": workers,
        "concurrency_per_worker": concurrency,
        "verify_and_pay": _phase_result([part["flow"] for part in parts]),
        "pay_alone": _phase_result([part["pay_alone"] for part in parts]),
        "profiled": bool(profile_prefix),
    }
