"""What every end-to-end benchmark shares: a real gateway process on loopback and its data.

`bench verify`, `bench load` and `bench payout` all measure the gateway as it runs in
production (uvicorn, one process, SQLite or PostgreSQL), loaded with the demo register. The
pieces here start and stop that process, give PostgreSQL runs a private schema that is dropped
afterwards, and read the demo's probe captures and keys back from disk.
"""

from __future__ import annotations

import csv
import importlib.util
import multiprocessing
import os
import queue
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psutil
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import create_engine, make_url, text

from gateway.demo import INDEX_FINGERS
from gateway.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

# Rate limits guard against abuse, not capacity: a benchmark lifts them for its run.
UNLIMITED_RATES = {
    "SATUPINTU_TERMINAL_RATE_PER_MINUTE": "100000000",
    "SATUPINTU_TERMINAL_BURST": "1000000",
    "SATUPINTU_PERSON_RATE_PER_MINUTE": "100000000",
    "SATUPINTU_PERSON_BURST": "1000000",
}


@dataclass(frozen=True)
class Probe:
    terminal_id: str
    nik: str
    records: dict[int, bytes]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def demo_probes(demo: Path) -> list[Probe]:
    """Every enrolled demo person with their second (probe) impression of both index fingers."""
    with (demo / "people.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    probes = []
    for row in rows:
        records = {
            pos: (demo / "probes" / f"{row['nik']}_{pos}.iso").read_bytes() for pos in INDEX_FINGERS
        }
        probes.append(Probe(f"T-{row['region']}-DEMO", row["nik"], records))
    return probes


def database_kind(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@contextmanager
def private_schema(database_url: str) -> Iterator[str]:
    """A PostgreSQL URL confined to a fresh schema (dropped on exit); other URLs unchanged.

    A benchmark must neither read nor disturb what else lives in the database it is given.
    """
    if database_kind(database_url) != "postgresql":
        yield database_url
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in database_url else "?"
    try:
        yield f"{database_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def gateway_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "SATUPINTU_DATA_DIR": str(data_dir),
        "SATUPINTU_DATABASE_URL": database_url,
        "SATUPINTU_LOG_LEVEL": "WARNING",
        **UNLIMITED_RATES,
        **extra,
    }


def start_gateway(
    env: dict[str, str], port: int, *, cpus: Sequence[int] = (), workers: int = 1
) -> subprocess.Popen[bytes]:
    """The gateway as deployed: `satupintu serve`, `workers` uvicorn processes with a
    listening socket each; optionally pinned to some CPUs.

    Several workers share the database and catch up with each other's index events; the
    first start (migrations, budget funding) should have happened with one process.
    """
    command = [
        sys.executable,
        "-c",
        "from gateway.cli import app; app()",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if cpus:
        command = ["taskset", "-c", ",".join(map(str, cpus)), *command]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode() if server.stderr else ""
            raise RuntimeError(f"gateway exited during start-up:\n{err[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gateway did not become ready")


def stop_gateway(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def gateway_cpu_seconds(pid: int) -> float:
    """User + system CPU of the gateway process and its workers so far.

    CPU per request does not depend on what else runs on the machine, unlike wall-clock rates.
    """
    parent = psutil.Process(pid)
    total = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


_LOCAL_HOSTS = frozenset({None, "", "127.0.0.1", "localhost", "::1"})


def database_cpu_seconds(database_url: str) -> float | None:
    """User + system CPU of the PostgreSQL server's processes so far, if it runs on this machine.

    On a machine whose cores the gateway shares with its database, the database's CPU comes
    out of the same budget, so a capacity estimate from the gateway's CPU alone flatters it.
    None for SQLite (its work runs inside the gateway's processes) and for a remote server.
    A server process that exits between two readings takes its CPU with it; the pool keeps its
    connections for the whole run, so in practice none does.
    """
    if not database_url.startswith("postgresql"):
        return None
    url = make_url(database_url)
    if url.host not in _LOCAL_HOSTS:
        return None
    return sum(postgres_cpu_by_pid().values())


def postgres_cpu_by_pid() -> dict[int, float]:
    """User + system CPU of every PostgreSQL server process on this machine, by pid."""
    found: dict[int, float] = {}
    for process in psutil.process_iter(["name"]):
        if process.info["name"] not in ("postgres", "postmaster"):
            continue
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found[process.pid] = times.user + times.system
    return found


def backend_cpu_seconds(
    database_url: str, application_name: str, before: dict[int, float]
) -> float | None:
    """CPU the PostgreSQL backends of one client (by `application_name`) spent since `before`.

    On a server other clients share, the whole server's CPU would count their work too; the
    backends a gateway opened carry its application name, so only theirs are summed. The pool
    keeps its connections for the run; a backend opened during it started from zero.
    """
    if database_kind(database_url) != "postgresql" or make_url(database_url).host not in (
        _LOCAL_HOSTS
    ):
        return None
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            wanted: set[int] = set(
                connection.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": application_name},
                ).scalars()
            )
    finally:
        engine.dispose()
    after = postgres_cpu_by_pid()
    return sum(after[pid] - before.get(pid, 0.0) for pid in wanted if pid in after)


def cpu_delta(before: float | None, after: float | None) -> float | None:
    """The CPU spent between two readings that may be unavailable (None)."""
    return None if before is None or after is None else after - before


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _fail_sniffio_import_at_once() -> None:
    """httpx's ASGI transport tries `import sniffio` on every request (to detect trio); when
    it is not installed each failed import searches the whole import path, and that harness
    cost would be counted as the gateway's CPU. A None entry fails the import at once."""
    if importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def in_process_app(data_dir: Path, database_url: str) -> FastAPI:
    """The gateway app of an in-process benchmark worker: rate limits lifted, quiet logs.

    The environment is set before the app module is imported, as its settings read it.
    """
    os.environ.update(UNLIMITED_RATES)
    os.environ["SATUPINTU_LOG_LEVEL"] = "WARNING"
    # Requests are signed and captures sealed before the clock starts; on a busy machine the
    # last ones would otherwise reach the app after their windows.
    os.environ["SATUPINTU_SIGNATURE_WINDOW_SECONDS"] = "3600"
    os.environ["SATUPINTU_CAPTURE_WINDOW_SECONDS"] = "3600"
    _fail_sniffio_import_at_once()
    from gateway.app import create_app

    return create_app(Settings(data_dir=data_dir, database_url=database_url))


def run_worker_processes(
    target: Callable[..., None],
    args: Callable[[int], tuple[Any, ...]],
    workers: int,
    limit_s: float = 600.0,
) -> list[dict[str, Any]]:
    """Run `target(*args(i), barrier, results)` in `workers` spawned processes; one result each.

    A worker that dies sends nothing, so waiting on the queue alone could hang the benchmark
    forever: the wait polls the workers and fails as soon as one has died.
    """
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*args(i), barrier, results)) for i in range(workers)
    ]
    for process in processes:
        process.start()
    parts: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit_s
    try:
        while len(parts) < workers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no result from the benchmark workers in {limit_s:.0f} s")
            try:
                parts.append(results.get(timeout=2))
            except queue.Empty:
                if any(p.exitcode not in (None, 0) for p in processes):
                    raise RuntimeError("an in-process benchmark worker died") from None
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
    return parts
