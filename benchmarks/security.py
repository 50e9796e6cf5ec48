"""`satupintu-bench security`: what the security layer costs per request, on one core.

Rows (median and p95 over `--rounds`): signing a request on the terminal; signing and
verifying in process (RFC 9421 check, digest, terminal lookup, nonce insert), without HTTP;
the gateway's signed round trip against an unsigned one on the same app (their difference
includes the test client's thread hops, so it is inflated on a busy machine); sealing a
capture (HPKE + device signature) and opening it (device lookup, HPKE open, signature
check); envelope seal and open; the NIK lookup hash; one committed audit append. The
database is a fresh SQLite file unless `--database-url` is given. Results: `--json FILE`
(keys `backend`, `operations` with `median_ms` and `p95_ms` each, `auth_overhead_ms`) and
a Markdown table in `benchmarks/results/`. Then, unless `--no-attacks`, the identity attacks
of a hostile agent terminal run against the same gateway loaded with a small demo register
(`benchmarks.attacks`): one row per attack with the answer and whether it was refused (JSON
key `attacks`; the median time of a refused replay is the replay row's `ms`).
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from starlette.datastructures import Headers

from benchmarks.output import results_dir

console = Console()


def _timed(fn: Callable[[], object], rounds: int) -> dict[str, float]:
    fn()  # warm-up: imports, caches, connection pool
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    arr = np.asarray(times)
    return {
        "median_ms": round(float(np.median(arr)), 3),
        "p95_ms": round(float(np.percentile(arr, 95)), 3),
    }


def _attacks(app: Any, api: Any, progress: Progress, data_dir: Path) -> list[Any]:
    """Load a small demo register into the running gateway, then attack it."""
    from benchmarks.attacks import run_attacks
    from gateway.demo import run_demo
    from gateway.terminals.ratelimit import TokenBucketLimiter

    # The attacks meet the identity defences, not the per-person rate limit.
    app.state.person_rate_limiter = TokenBucketLimiter(
        rate_per_minute=1e9, burst=10**9, scope="person"
    )
    task = progress.add_task("demo register for the attacks", total=None)
    run_demo(
        session_factory=app.state.session_factory,
        data_dir=data_dir,
        households=12,
        progress=lambda _stage, done, total: progress.update(task, completed=done, total=total),
    )
    app.state.indexes.catch_up()
    return run_attacks(api, data_dir / "demo")


def security_command(
    rounds: Annotated[int, typer.Option(min=10, help="Timed repetitions per operation")] = 300,
    database_url: Annotated[str, typer.Option(help="Database (default: fresh SQLite)")] = "",
    json_path: Annotated[Path | None, typer.Option("--json", help="Write results here")] = None,
    core: Annotated[int, typer.Option(help="CPU core to pin to")] = 0,
    attacks: Annotated[
        bool, typer.Option(help="Also run the hostile-terminal attacks on a demo register")
    ] = True,
) -> None:
    """Time the signature, HPKE, envelope, NIK-hash and audit operations."""
    # Imported here so `satupintu --help` does not load the whole gateway.
    from gateway.app import create_app
    from gateway.audit.service import append
    from gateway.biometrics.sealed import open_capture
    from gateway.client import GatewayKey, RequestSigner, SignatureAuth, seal_capture
    from gateway.crypto.capture import SealedCapture
    from gateway.crypto.envelope import open_sealed, seal
    from gateway.crypto.nik import nik_lookup_hash
    from gateway.db import unit_of_work
    from gateway.settings import Settings
    from gateway.terminals import service
    from gateway.terminals.authenticate import authenticate_message
    from gateway.terminals.identity import AuthenticatedTerminal
    from gateway.terminals.keys import encode_public_key
    from gateway.terminals.ratelimit import TokenBucketLimiter

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    tmp = Path(tempfile.mkdtemp(prefix="satupintu-bench-"))
    app = create_app(Settings(data_dir=tmp, database_url=database_url, environment="test"))
    # The benchmark is one terminal hammering the gateway: lift its rate limit.
    app.state.terminal_rate_limiter = TokenBucketLimiter(
        rate_per_minute=1e9, burst=10**9, scope="terminal"
    )
    key, device_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    results: dict[str, dict[str, float]] = {}
    # Imported here: the test client warns on import, and the CLI loads this module.
    from fastapi.testclient import TestClient

    with TestClient(app) as api, Progress(console=console) as progress:
        factory = app.state.session_factory
        with unit_of_work(factory) as session:
            service.register_terminal(
                session=session, terminal_id="T-BENCH", agent_name="bench", bank_code="BRI",
                province_code="32", regency_code="01",
                public_key=encode_public_key(key.public_key().public_bytes_raw()), actor="bench",
            )  # fmt: skip
            service.register_device(
                session=session, terminal_id="T-BENCH", device_id="D-BENCH", model="bench",
                public_key=encode_public_key(device_key.public_key().public_bytes_raw()),
                actor="bench",
            )  # fmt: skip
        signer = RequestSigner(key_id="T-BENCH", private_key=key)
        auth = SignatureAuth(signer)
        gateway_key = GatewayKey.from_published(api.get("/v1/keys/biometric").json()["current"])
        capture = os.urandom(600)  # the size of a typical ISO 19794-2 template
        terminal = AuthenticatedTerminal(
            "T-BENCH", "bench", "BRI", "32", "01", "bench-nonce-0001", datetime.now(UTC)
        )

        def sealed() -> dict[str, Any]:
            return seal_capture(
                capture, gateway_key=gateway_key, terminal_id="T-BENCH",
                nonce="bench-nonce-0001", device_id="D-BENCH", device_key=device_key,
            )  # fmt: skip

        one_capture = SealedCapture.model_validate(sealed())
        blob = seal(capture, aad=b"template:person=p_1:finger=2")

        def verify_one() -> None:
            request = httpx.Request("POST", "http://testserver/v1/x", json={"a": 1})
            signer.sign(request)
            headers = Headers(raw=[(k.encode(), v.encode()) for k, v in request.headers.items()])
            authenticate_message(
                kind="terminal", method="POST", url=str(request.url), headers=headers,
                body=request.content, factory=factory, settings=app.state.security_settings,
            )  # fmt: skip

        def open_one() -> None:
            with factory() as session:
                open_capture(one_capture, terminal=terminal, session=session)

        def audit_one() -> None:
            with unit_of_work(factory) as session:
                append(session=session, kind="bench", actor="bench", subject="bench")

        operations: dict[str, Callable[[], object]] = {
            "sign_request": lambda: signer.sign(
                httpx.Request("POST", "http://testserver/v1/x", json={"a": 1})
            ),
            "sign_and_verify_in_process": verify_one,
            "unsigned_round_trip": lambda: api.get("/healthz"),
            "signed_round_trip": lambda: api.get("/v1/terminals/me", auth=auth),
            "seal_capture": sealed,
            "open_capture": open_one,
            "envelope_seal": lambda: seal(capture, aad=b"template:person=p_1:finger=2"),
            "envelope_open": lambda: open_sealed(blob, aad=b"template:person=p_1:finger=2"),
            "nik_lookup_hash": lambda: nik_lookup_hash("3201014506900001"),
            "audit_append_commit": audit_one,
        }
        task = progress.add_task("timing", total=len(operations))
        for name, fn in operations.items():
            results[name] = _timed(fn, rounds)
            progress.advance(task)
        backend = app.state.engine.dialect.name
        attack_rows = _attacks(app, api, progress, tmp) if attacks else []
    overhead = round(
        results["signed_round_trip"]["median_ms"] - results["unsigned_round_trip"]["median_ms"], 3
    )
    table = Table("operation", "median ms", "p95 ms", title=f"security costs ({backend})")
    for name, stats in results.items():
        table.add_row(name, f"{stats['median_ms']:.3f}", f"{stats['p95_ms']:.3f}")
    console.print(table)
    console.print(f"authentication overhead per request (median): {overhead:.3f} ms")
    if attack_rows:
        refusals = Table(
            "threat", "attack", "expected", "status", "answer", "refused", "ms",
            title="hostile-terminal attacks",
        )  # fmt: skip
        for row in attack_rows:
            refusals.add_row(
                row.threat, row.attack, row.expected, str(row.status), row.answer,
                "yes" if row.refused else "NO", f"{row.ms:.1f}",
            )  # fmt: skip
        console.print(refusals)
    report = {
        "backend": backend,
        "rounds": rounds,
        "pinned_core": core,
        "python": platform.python_version(),
        # Other work on the machine inflates the thread-hopping rows most; recorded for context.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "operations": results,
        "auth_overhead_ms": overhead,
        "attacks": [row.__dict__ for row in attack_rows],
    }
    lines = [
        f"# Security costs ({backend}, {rounds} rounds, one core)",
        "",
        "| operation | median ms | p95 ms |",
        "| --- | ---: | ---: |",
        *(f"| {n} | {s['median_ms']:.3f} | {s['p95_ms']:.3f} |" for n, s in results.items()),
        "",
        f"Authentication overhead per request (median): {overhead:.3f} ms",
        f"Load average (1 min) during the run: {report['load_average_1m']} on "
        f"{os.cpu_count()} cores.",
    ]
    if attack_rows:
        lines += [
            "",
            "## Hostile-terminal attacks (demo register, attacker T-3578-DEMO)",
            "",
            "| threat | attack | expected | status | answer | refused | ms |",
            "| --- | --- | --- | ---: | --- | --- | ---: |",
            *(
                f"| {r.threat} | {r.attack} | {r.expected} | {r.status} | {r.answer} | "
                f"{'yes' if r.refused else 'NO'} | {r.ms:.1f} |"
                for r in attack_rows
            ),
            "",
            "The replay row's ms is the median time to refuse one copy of 34.",
        ]
    (results_dir() / f"security_{backend}.md").write_text("\n".join(lines) + "\n")
    target = json_path or results_dir() / f"security_{backend}.json"
    target.write_text(json.dumps(report, indent=2) + "\n")
