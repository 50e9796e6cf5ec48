"""`satupintu bench verify`: 1:1 verification throughput and latency, measured end to end.

The gateway runs as it does in production (one uvicorn process on loopback, SQLite or
PostgreSQL), loaded with the demo register; a concurrent httpx client in this process plays
the agent terminals: every request is signed (RFC 9421), every capture an ISO/IEC 19794-2
record of both index fingers sealed by the capture device (HPKE), exactly as terminals send
them. Rate limits are lifted for the run (they guard against abuse, not capacity). Latency is
measured by the client, so it includes signing, HTTP and the gateway's work.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.live import (
    RESULTS,
    Probe,
    database_kind,
    demo_probes,
    free_port,
    gateway_env,
    load_key,
    percentile,
    private_schema,
    start_gateway,
    stop_gateway,
    wait_ready,
)
from gateway.client import (
    NONCE_EXTENSION,
    GatewayKey,
    RequestSigner,
    SignatureAuth,
    new_nonce,
    seal_capture,
)
from gateway.crypto.runtime import open_runtime
from gateway.enrollment.demo import run_demo
from gateway.settings import Settings


def _server_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the gateway process and its worker children."""
    parent = psutil.Process(pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def _load(
    base: str,
    probes: list[Probe],
    keys: Path,
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
) -> tuple[list[float], dict[str, int], float]:
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
    latencies: list[float] = []
    outcomes: dict[str, int] = {}
    counter = 0
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def one(probe: Probe) -> tuple[float, str]:
        nonce = new_nonce()
        fingers = [
            {
                "position": pos,
                "format": "iso19794-2",
                "sealed": seal_capture(
                    record,
                    gateway_key=gateway_key,
                    terminal_id=probe.terminal_id,
                    nonce=nonce,
                    device_id=f"D-{probe.terminal_id}",
                    device_key=devices[probe.terminal_id],
                ),
            }
            for pos, record in probe.records.items()
        ]
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

    async def worker() -> None:
        nonlocal counter
        while time.perf_counter() < stop_at:
            probe = probes[counter % len(probes)]
            counter += 1
            began = time.perf_counter()
            elapsed, outcome = await one(probe)
            if began >= measure_from:
                latencies.append(elapsed)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    for client in clients.values():
        await client.aclose()
    return latencies, outcomes, seconds


def verify_command(
    households: int = typer.Option(40, help="Demo households (about 2 adults enrolled each)."),
    concurrency: int = typer.Option(16, help="Requests in flight."),
    seconds: float = typer.Option(20.0, help="Measured duration."),
    warmup: float = typer.Option(5.0, help="Unmeasured warm-up (JIT, caches)."),
    database_url: str = typer.Option("", help="Database (default: a fresh SQLite file)."),
    workers: int = typer.Option(2, min=1, help="Gateway processes (uvicorn workers)."),
    json_file: Path = typer.Option(None, "--json", help="Also write the results here."),
) -> None:
    """Verify 1:1 (NIK + both index fingers as sealed ISO records) against a live gateway."""
    console = Console()
    database = database_kind(database_url)
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
        port = free_port()
        server = start_gateway(gateway_env(data_dir, database_url), port, workers=workers)
        base = f"http://127.0.0.1:{port}"
        try:
            with console.status("starting the gateway"):
                wait_ready(base, server)
            with console.status(f"warming up for {warmup:.0f} s"):
                asyncio.run(
                    _load(
                        base,
                        probes,
                        demo / "keys",
                        concurrency=concurrency,
                        seconds=warmup,
                        warmup=0,
                    )
                )
            cpu_before = _server_cpu_seconds(server.pid)
            with console.status(f"verifying for {seconds:.0f} s"):
                latencies, outcomes, measured = asyncio.run(
                    _load(
                        base,
                        probes,
                        demo / "keys",
                        concurrency=concurrency,
                        seconds=seconds,
                        warmup=0,
                    )
                )
            server_cpu = _server_cpu_seconds(server.pid) - cpu_before
        finally:
            stop_gateway(server)
    ok = sum(v for k, v in outcomes.items() if not k.startswith("http_"))
    result: dict[str, Any] = {
        "benchmark": "verify_1to1",
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
        "server_cpu_ms_per_request": 1000 * server_cpu / max(1, len(latencies)),
        "capacity_rps_2_cores": 2 * len(latencies) / server_cpu if server_cpu else None,
        "outcomes": outcomes,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "target": {"rps": 200, "p99_ms": 100},
    }
    table = Table(title=f"verify 1:1 ({database}, {workers} workers, {concurrency} in flight)")
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
    console.print(f"outcomes: {outcomes}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    (RESULTS / f"verify_{database}.json").write_text(text)
    if json_file is not None:
        json_file.write_text(text)
