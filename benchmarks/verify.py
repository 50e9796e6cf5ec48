"""`satupintu-bench verify`: 1:1 verification throughput and latency, two ways.

Over HTTP (default): the gateway runs as it does in production (uvicorn, `--workers`
processes on loopback, SQLite or PostgreSQL), loaded with the demo register; a concurrent
httpx client in this process plays the agent terminals: every request is signed (RFC 9421),
every capture an ISO/IEC 19794-2 record of both index fingers sealed by the capture device
(HPKE), exactly as terminals send them. Latency is measured by the client, so it includes
signing, HTTP and the gateway's work; the client shares the machine's cores.

In process (`--in-process`): `--workers` processes each run the gateway's ASGI app and call
it directly, without sockets or an HTTP server, with requests signed and sealed before the
clock starts. What it measures is the service's own cost (routing, authentication, capture
opening, matching, the database), apart from the HTTP server and the load generator.

Rate limits are lifted for both runs (they guard against abuse, not capacity).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer
import uvloop
from rich.console import Console
from rich.table import Table

from benchmarks.live import (
    Probe,
    cpu_delta,
    database_cpu_seconds,
    database_kind,
    demo_probes,
    free_port,
    gateway_cpu_seconds,
    gateway_env,
    in_process_app,
    load_key,
    percentile,
    private_schema,
    run_worker_processes,
    start_gateway,
    stop_gateway,
    wait_ready,
)
from benchmarks.output import results_dir
from gateway.client import (
    NONCE_EXTENSION,
    GatewayKey,
    RequestSigner,
    SignatureAuth,
    new_nonce,
    seal_capture,
)
from gateway.crypto.runtime import open_runtime
from gateway.demo import run_demo
from gateway.settings import Settings

# In-process requests are signed ahead; the signature window (60 s) bounds how far ahead.
_PREBUILT_PER_SECOND = 300


def _fingers(
    probe: Probe, nonce: str, gateway_key: GatewayKey, device: Any
) -> list[dict[str, Any]]:
    """Both index fingers, sealed by the terminal's capture device for this one request."""
    return [
        {
            "position": pos,
            "format": "iso19794-2",
            "sealed": seal_capture(
                record,
                gateway_key=gateway_key,
                terminal_id=probe.terminal_id,
                nonce=nonce,
                device_id=f"D-{probe.terminal_id}",
                device_key=device,
            ),
        }
        for pos, record in probe.records.items()
    ]


Outcome = tuple[float, str]


async def _drive(
    send_one: Callable[[int], Any], *, concurrency: int, seconds: float
) -> tuple[list[float], dict[str, int]]:
    """`concurrency` loops sending requests until `seconds` pass; latencies and outcomes."""
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    counter = 0
    stop_at = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal counter
        while time.perf_counter() < stop_at:
            index = counter
            counter += 1
            result = await send_one(index)
            if result is None:
                return
            elapsed, outcome = result
            latencies.append(elapsed)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return latencies, outcomes


async def _load_http(
    base: str, probes: list[Probe], keys: Path, *, concurrency: int, seconds: float
) -> tuple[list[float], dict[str, int]]:
    gateway_key = GatewayKey.from_published(
        httpx.get(f"{base}/v1/keys/biometric").json()["current"]
    )
    terminals = {p.terminal_id for p in probes}
    clients = {
        t: httpx.AsyncClient(
            base_url=base,
            auth=SignatureAuth(RequestSigner(key_id=t, private_key=load_key(keys / f"{t}.pem"))),
            timeout=30,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
        )
        for t in terminals
    }
    devices = {t: load_key(keys / f"D-{t}.pem") for t in terminals}

    async def one(index: int) -> Outcome:
        probe = probes[index % len(probes)]
        nonce = new_nonce()
        fingers = _fingers(probe, nonce, gateway_key, devices[probe.terminal_id])
        began = time.perf_counter()
        try:
            response = await clients[probe.terminal_id].post(
                "/v1/verify",
                json={"mode": "1:1", "nik": probe.nik, "fingers": fingers},
                extensions={NONCE_EXTENSION: nonce},
            )
        except httpx.HTTPError as exc:  # counted as an error, not a crash of the benchmark
            return time.perf_counter() - began, f"http_transport:{type(exc).__name__}"
        elapsed = time.perf_counter() - began
        if response.status_code == 200:
            return elapsed, response.json()["decision"]
        return elapsed, f"http_{response.status_code}:{response.json()['error']['code']}"

    try:
        return await _drive(one, concurrency=concurrency, seconds=seconds)
    finally:
        for client in clients.values():
            await client.aclose()


@dataclass(frozen=True)
class _AsgiRequest:
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _prebuild(
    probes: list[Probe], keys: Path, gateway_key: GatewayKey, count: int, offset: int
) -> list[_AsgiRequest]:
    """Signed, sealed verify requests, made before the clock starts (the terminals' work)."""
    signers = {
        p.terminal_id: RequestSigner(
            key_id=p.terminal_id, private_key=load_key(keys / f"{p.terminal_id}.pem")
        )
        for p in probes
    }
    devices = {p.terminal_id: load_key(keys / f"D-{p.terminal_id}.pem") for p in probes}
    built = []
    with httpx.Client(base_url="http://testserver") as client:
        for i in range(count):
            probe = probes[(offset + i) % len(probes)]
            nonce = new_nonce()
            fingers = _fingers(probe, nonce, gateway_key, devices[probe.terminal_id])
            request = client.build_request(
                "POST", "/v1/verify", json={"mode": "1:1", "nik": probe.nik, "fingers": fingers}
            )
            signers[probe.terminal_id].sign(request, nonce=nonce)
            headers = [(k.lower(), v) for k, v in request.headers.raw]
            built.append(_AsgiRequest(headers, request.read()))
    return built


async def _call_asgi(app: Any, state: dict[str, Any], request: _AsgiRequest) -> tuple[int, bytes]:
    """One request straight into the ASGI app: no socket, no HTTP parsing."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/verify",
        "raw_path": b"/v1/verify",
        "query_string": b"",
        "root_path": "",
        "headers": request.headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": dict(state),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}
        await asyncio.sleep(3600)  # the app never asks again once the body is read
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _in_process_worker(
    index: int,
    data_dir: str,
    database_url: str,
    seconds: float,
    warmup: float,
    concurrency: int,
    barrier: Any,
    results: Any,
) -> None:
    """One gateway process: its own app on the shared database, driven without sockets."""
    demo = Path(data_dir) / "demo"
    probes = demo_probes(demo)
    app = in_process_app(Path(data_dir), database_url)

    async def run() -> dict[str, Any]:
        async with app.router.lifespan_context(app) as state:
            lifespan_state = dict(state or {})
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://testserver"
            ) as client:
                published = (await client.get("/v1/keys/biometric")).json()["current"]
            gateway_key = GatewayKey.from_published(published)
            offset = index * 7919
            warm = _prebuild(probes, demo / "keys", gateway_key, 20 * concurrency, offset)
            measured = _prebuild(
                probes,
                demo / "keys",
                gateway_key,
                int(_PREBUILT_PER_SECOND * seconds),
                offset + len(warm),
            )

            def sender(requests: list[_AsgiRequest]) -> Callable[[int], Any]:
                async def one(i: int) -> Outcome | None:
                    if i >= len(requests):
                        return None
                    began = time.perf_counter()
                    status, body = await _call_asgi(app, lifespan_state, requests[i])
                    elapsed = time.perf_counter() - began
                    payload = json.loads(body)
                    if status == 200:
                        return elapsed, str(payload["decision"])
                    return elapsed, f"http_{status}:{payload['error']['code']}"

                return one

            await _drive(sender(warm), concurrency=concurrency, seconds=warmup)
            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            # The server's CPU is read by one worker, over its own (the common) window.
            database_before = database_cpu_seconds(database_url) if index == 0 else None
            cpu_before, wall_before = time.process_time(), time.perf_counter()
            latencies, outcomes = await _drive(
                sender(measured), concurrency=concurrency, seconds=seconds
            )
            return {
                "latencies": latencies,
                "outcomes": outcomes,
                "cpu": time.process_time() - cpu_before,
                "wall": time.perf_counter() - wall_before,
                "database_cpu": cpu_delta(database_before, database_cpu_seconds(database_url)),
            }

    # uvloop, as uvicorn runs the gateway.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        results.put(runner.run(run()))


def _in_process(
    data_dir: Path,
    database_url: str,
    *,
    workers: int,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> tuple[list[float], dict[str, int], float, float, float | None]:
    """Latencies, outcomes, measured seconds, CPU seconds of `workers` app processes and of the
    database server (None unless PostgreSQL on this machine)."""
    parts = run_worker_processes(
        _in_process_worker,
        lambda i: (i, str(data_dir), database_url, seconds, warmup, concurrency),
        workers,
    )
    latencies = [x for part in parts for x in part["latencies"]]
    outcomes: dict[str, int] = {}
    for part in parts:
        for key, value in part["outcomes"].items():
            outcomes[key] = outcomes.get(key, 0) + value
    wall = max(part["wall"] for part in parts)
    database_cpu = next((p["database_cpu"] for p in parts if p["database_cpu"] is not None), None)
    return latencies, outcomes, wall, sum(part["cpu"] for part in parts), database_cpu


def verify_command(
    households: int = typer.Option(40, help="Demo households (about 2 adults enrolled each)."),
    concurrency: int = typer.Option(16, help="Requests in flight (per process in process)."),
    seconds: float = typer.Option(20.0, help="Measured duration."),
    warmup: float = typer.Option(5.0, help="Unmeasured warm-up (JIT, caches)."),
    database_url: str = typer.Option("", help="Database (default: a fresh SQLite file)."),
    workers: int = typer.Option(2, min=1, help="Gateway processes (uvicorn workers)."),
    in_process: bool = typer.Option(
        False, "--in-process", help="Call the ASGI app directly: the service's own cost."
    ),
    json_file: Path = typer.Option(None, "--json", help="Also write the results here."),
) -> None:
    """Verify 1:1 (NIK + both index fingers as sealed ISO records), over HTTP or in process."""
    console = Console()
    database = database_kind(database_url)
    client_cpu: float | None = None
    with (
        tempfile.TemporaryDirectory(prefix="satupintu-bench-") as tmp,
        private_schema(database_url) as database_url,
    ):
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, database_url=database_url)
        with (
            console.status("loading the demo register and enrolling"),
            open_runtime(settings) as rt,
        ):
            run_demo(session_factory=rt.session_factory, data_dir=data_dir, households=households)
        demo = data_dir / "demo"
        probes = demo_probes(demo)
        if in_process:
            with console.status(f"{workers} process(es): warming up, then verifying"):
                latencies, outcomes, measured, server_cpu, database_cpu = _in_process(
                    data_dir,
                    database_url,
                    workers=workers,
                    concurrency=concurrency,
                    seconds=seconds,
                    warmup=warmup,
                )
        else:
            port = free_port()
            server = start_gateway(gateway_env(data_dir, database_url), port, workers=workers)
            base = f"http://127.0.0.1:{port}"
            keys = demo / "keys"
            try:
                with console.status("starting the gateway"):
                    wait_ready(base, server)
                with console.status(f"warming up for {warmup:.0f} s"):
                    asyncio.run(
                        _load_http(base, probes, keys, concurrency=concurrency, seconds=warmup)
                    )
                cpu_before = gateway_cpu_seconds(server.pid)
                database_before = database_cpu_seconds(database_url)
                client_before, wall_before = time.process_time(), time.perf_counter()
                with console.status(f"verifying for {seconds:.0f} s"):
                    latencies, outcomes = asyncio.run(
                        _load_http(base, probes, keys, concurrency=concurrency, seconds=seconds)
                    )
                measured = time.perf_counter() - wall_before
                client_cpu = time.process_time() - client_before
                server_cpu = gateway_cpu_seconds(server.pid) - cpu_before
                database_cpu = cpu_delta(database_before, database_cpu_seconds(database_url))
            finally:
                stop_gateway(server)
    ok = sum(v for k, v in outcomes.items() if not k.startswith("http_"))
    requests = max(1, len(latencies))
    result: dict[str, Any] = {
        "benchmark": "verify_1to1",
        "mode": "in_process" if in_process else "http",
        "database": database,
        "enrolled_people": len(probes),
        "concurrency": concurrency,
        "seconds": measured,
        "requests": len(latencies),
        "rps": len(latencies) / measured,
        "p50_ms": 1000 * percentile(latencies, 0.50),
        "p95_ms": 1000 * percentile(latencies, 0.95),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "mean_ms": 1000 * statistics.fmean(latencies) if latencies else float("nan"),
        "errors": len(latencies) - ok,
        "workers": workers,
        # Gateway CPU per request (all its processes): load-independent capacity estimate.
        "server_cpu_ms_per_request": 1000 * server_cpu / requests,
        "capacity_rps_2_cores": 2 * len(latencies) / server_cpu if server_cpu else None,
        # A local PostgreSQL server's CPU, drawn from the same cores (None for SQLite).
        "database_cpu_ms_per_request": (
            1000 * database_cpu / requests if database_cpu is not None else None
        ),
        "capacity_rps_2_cores_with_database": (
            2 * len(latencies) / (server_cpu + database_cpu)
            if database_cpu is not None and server_cpu + database_cpu > 0
            else None
        ),
        # The load generator's own CPU (HTTP mode), on the same cores as the gateway.
        "client_cpu_ms_per_request": 1000 * client_cpu / requests if client_cpu else None,
        "outcomes": outcomes,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "target": {"rps": 200, "p99_ms": 100},
    }
    mode = "in process" if in_process else "HTTP"
    table = Table(
        title=f"verify 1:1 {mode} ({database}, {workers} workers, {concurrency} in flight)"
    )
    for column in ("requests", "rps", "p50 ms", "p95 ms", "p99 ms", "errors", "server CPU ms/req"):
        table.add_column(column, justify="right")
    table.add_row(
        str(result["requests"]),
        f"{result['rps']:.1f}",
        f"{result['p50_ms']:.1f}",
        f"{result['p95_ms']:.1f}",
        f"{result['p99_ms']:.1f}",
        str(result["errors"]),
        f"{result['server_cpu_ms_per_request']:.1f}",
    )
    console.print(table)
    if result["database_cpu_ms_per_request"] is not None:
        console.print(
            f"PostgreSQL server CPU: {result['database_cpu_ms_per_request']:.1f} ms per request; "
            f"gateway + database on 2 cores: "
            f"{result['capacity_rps_2_cores_with_database']:.0f} requests/s at most"
        )
    console.print(f"outcomes: {outcomes}")
    text = json.dumps(result, indent=2)
    suffix = "_inprocess" if in_process else ""
    (results_dir() / f"verify_{database}{suffix}.json").write_text(text)
    if json_file is not None:
        json_file.write_text(text)
