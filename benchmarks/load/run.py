"""`satupintu-bench load` and `satupintu-bench payout`: Locust against a live gateway.

By default the whole test bench is built here: a fresh data directory, the demo gallery
enrolled through the real services, one registered terminal per virtual agent, the gateway
started as deployed (uvicorn, one process) on SQLite or a private PostgreSQL schema (dropped
afterwards), then Locust run headless for the given time. Locust's CSV and HTML reports, a
summary table and JSON, and a chart of throughput and latency over time land under
`benchmarks/results/`.

With `--host` and `--manifest` the gateway and gallery are someone else's (a staging
deployment prepared with `--prepare-only`); only Locust runs here.

Locust and the gateway share the machine's cores unless `--gateway-cpus` pins the gateway:
on a 2-core machine every figure here is "gateway + load generator on 2 cores".
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.live import (
    backend_cpu_seconds,
    database_kind,
    free_port,
    gateway_cpu_seconds,
    gateway_env,
    postgres_cpu_by_pid,
    private_schema,
    start_gateway,
    stop_gateway,
    wait_ready,
)
from benchmarks.load.chart import plot_history, plot_scaling
from benchmarks.load.inprocess import run_in_process
from benchmarks.load.prepare import Prepared, prepare
from benchmarks.output import results_dir
from gateway.crypto.runtime import open_runtime
from gateway.payouts.programmes import EXAMPLE_CONFIG
from gateway.settings import Settings

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# The gateway's PostgreSQL sessions carry this name (libpq's PGAPPNAME).
APPLICATION_NAME = f"satupintu-bench-{os.getpid()}"
# A gateway builds its 1:N index from every enrolled template at start: thousands of
# households take minutes on a busy machine.
START_TIMEOUT_S = 900.0
FLOW = "FLOW"
BIOMETRIC = "BIOMETRIC"


def _cpus(spec: str) -> list[int]:
    """CPU numbers from `--gateway-cpus`-style text ('0', '0,1'; empty: not pinned)."""
    return [int(c) for c in spec.split(",") if c.strip()]


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def read_stats(path: Path) -> list[dict[str, Any]]:
    """Locust's `_stats.csv`: one row per endpoint (and FLOW entry) plus `Aggregated`."""
    with path.open(encoding="utf-8") as handle:
        return [
            {
                "type": row["Type"],
                "name": row["Name"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": _float(row["Requests/s"]),
                "p50_ms": _float(row["50%"]),
                "p95_ms": _float(row["95%"]),
                "p99_ms": _float(row["99%"]),
                "max_ms": _float(row["Max Response Time"]),
            }
            for row in csv.DictReader(handle)
        ]


def read_failures(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [
            {
                "method": r["Method"],
                "name": r["Name"],
                "error": r["Error"],
                "occurrences": int(r["Occurrences"]),
            }
            for r in csv.DictReader(handle)
        ]


@contextmanager
def _prepared_bench(
    *,
    households: int,
    terminals: int,
    database_url: str,
    console: Console,
    from_templates: bool = False,
) -> Iterator[tuple[Path, str, Prepared]]:
    """A fresh data directory and database with the gallery enrolled and terminals registered."""
    with (
        tempfile.TemporaryDirectory(prefix="satupintu-load-") as tmp,
        private_schema(database_url) as url,
    ):
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, database_url=url)
        with Progress(console=console, transient=True) as bar, open_runtime(settings) as rt:
            job = bar.add_task("enrolling the gallery", total=None)

            def progress(_stage: str, done: int, total: int) -> None:
                bar.update(job, completed=done, total=total)

            prepared = prepare(
                session_factory=rt.session_factory,
                data_dir=data_dir,
                households=households,
                terminals=terminals,
                progress=progress,
                from_templates=from_templates,
            )
        yield data_dir, url, prepared


def _ample_programmes(data_dir: Path) -> Path:
    """The example programmes with budgets a hundred times larger: a wave of thousands of
    households would otherwise exhaust them (a refusal the benchmark counts as an error)."""
    text = re.sub(
        r"^budget = ([\d_]+)$",
        lambda m: f"budget = {100 * int(m.group(1).replace('_', ''))}",
        EXAMPLE_CONFIG.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    path = data_dir / "programmes.toml"
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def _bench_gateway(
    *,
    households: int,
    terminals: int,
    database_url: str,
    gateway_cpus: str,
    workers: int,
    console: Console,
    from_templates: bool = False,
) -> Iterator[tuple[str, Prepared, int]]:
    """Prepared gallery + running gateway; yields (base URL, what was prepared, gateway pid).

    The gateway's database connections carry `APPLICATION_NAME`, so the PostgreSQL CPU spent
    for it can be told from other clients' of the same server.
    """
    with _prepared_bench(
        households=households,
        terminals=terminals,
        database_url=database_url,
        console=console,
        from_templates=from_templates,
    ) as (data_dir, url, prepared):
        port = free_port()
        cpus = _cpus(gateway_cpus)
        env = gateway_env(
            data_dir,
            url,
            PGAPPNAME=APPLICATION_NAME,
            SATUPINTU_PROGRAMMES_FILE=str(_ample_programmes(data_dir)),
        )
        base = f"http://127.0.0.1:{port}"
        if workers > 1:
            # One process does the first start (budget funding) alone, then all of them run.
            first = start_gateway(env, port, cpus=cpus)
            try:
                with console.status("first start of the gateway"):
                    wait_ready(base, first, timeout=START_TIMEOUT_S)
            finally:
                stop_gateway(first)
        server = start_gateway(env, port, cpus=cpus, workers=workers)
        try:
            with console.status("starting the gateway"):
                wait_ready(base, server, timeout=START_TIMEOUT_S)
            yield base, prepared, server.pid
        finally:
            stop_gateway(server)


@contextmanager
def _flame_graph(pid: int, out: Path, seconds: float) -> Iterator[None]:
    """py-spy samples the gateway (every worker process) while the body runs: a flame graph.

    Sampling at py-spy's default 100 Hz from outside the process costs the gateway little;
    the figures of a profiled run are still kept apart from the unprofiled ones.
    """
    # Installed with the bench extra next to this interpreter, whether or not that is on PATH.
    beside = Path(sys.executable).with_name("py-spy")
    command = [
        str(beside) if beside.exists() else "py-spy",
        "record",
        "--pid",
        str(pid),
        "--subprocesses",
        "--nonblocking",
        "--format",
        "flamegraph",
        "--output",
        str(out),
        "--duration",
        str(int(seconds) + 5),
    ]
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=60)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait()


def run_locust(
    *,
    host: str,
    manifest: Path,
    prefix: Path,
    profile: str,
    seconds: float,
    users: int,
    step_users: int,
    step_seconds: float,
    slo: dict[str, float],
    console: Console,
    cpus: str = "",
) -> int:
    """Locust headless with the step shape; its exit code is the SLO gate's verdict."""
    env = {
        **os.environ,
        "SATUPINTU_LOAD_MANIFEST": str(manifest),
        "SATUPINTU_LOAD_PROFILE": profile,
        "SATUPINTU_LOAD_SECONDS": str(seconds),
        "SATUPINTU_LOAD_MAX_USERS": str(users),
        "SATUPINTU_LOAD_STEP_USERS": str(step_users),
        "SATUPINTU_LOAD_STEP_SECONDS": str(step_seconds),
        "SATUPINTU_SLO_MAX_ERROR_RATIO": str(slo["max_error_ratio"]),
        "SATUPINTU_SLO_P99_MS": str(slo["p99_ms"]),
        "SATUPINTU_SLO_FLOW_P99_MS": str(slo["flow_p99_ms"]),
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--csv-full-history",
        "--html",
        f"{prefix}.html",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    if _cpus(cpus):
        command = ["taskset", "-c", cpus, *command]
    with console.status(f"Locust: {profile} load for up to {seconds:.0f} s"):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=seconds + 300
        )
    if done.returncode not in (0, 1):
        console.print(done.stderr[-3000:])
    for line in done.stderr.splitlines():
        if "SLO breached" in line:
            console.print(f"[red]{line.strip()}")
    return done.returncode


def summarise(
    *, prefix: Path, profile: str, database: str, exit_code: int, extra: dict[str, Any]
) -> dict[str, Any]:
    stats = read_stats(Path(f"{prefix}_stats.csv"))
    failures = read_failures(Path(f"{prefix}_failures.csv"))
    http = [s for s in stats if s["type"] not in (FLOW, BIOMETRIC) and s["name"] != "Aggregated"]
    flows = [s for s in stats if s["type"] == FLOW]
    biometric = {s["name"]: s["requests"] for s in stats if s["type"] == BIOMETRIC}
    # The headline percentiles: of the end-to-end flow, or of verify alone in its benchmark.
    headline = (
        next((s for s in http if s["name"] == "/v1/verify [1:1]"), None)
        if profile == "verify"
        else next((s for s in flows if s["name"] == "verify 1:1 + pay"), None)
    )
    aggregated = next(s for s in stats if s["name"] == "Aggregated")
    errors = sum(s["failures"] for s in http)
    summary: dict[str, Any] = {
        "benchmark": f"load_{profile}",
        "database": database,
        "requests": sum(s["requests"] for s in http),
        "rps": sum(s["rps"] for s in http),
        "errors": errors,
        "error_ratio": errors / max(1, sum(s["requests"] for s in http)),
        "slo_passed": exit_code == 0,
        "endpoints": http,
        "flows": flows,
        "biometric_outcomes": biometric,
        "failures": failures,
        "aggregated_p99_ms": aggregated["p99_ms"],
        "verify_rps": sum(s["rps"] for s in http if s["name"].startswith("/v1/verify")),
        "payouts_per_s": sum(s["rps"] for s in flows),
        "payouts": sum(s["requests"] for s in flows),
        "p50_ms": headline["p50_ms"] if headline else float("nan"),
        "p95_ms": headline["p95_ms"] if headline else float("nan"),
        "p99_ms": headline["p99_ms"] if headline else float("nan"),
        "cpus": os.cpu_count(),
        "load_average_at_start": extra.pop("load_average_at_start", None),
        "machine": platform.processor() or platform.machine(),
        "locust_shares_cores_with_gateway": not (
            extra.get("locust_cpus", "shared") != "shared"
            and extra.get("gateway_cpus", "shared") != "shared"
            and not set(_cpus(extra["locust_cpus"])) & set(_cpus(extra["gateway_cpus"]))
        ),
        "reports": {
            "csv": f"{prefix.name}_stats.csv",
            "html": f"{prefix.name}.html",
            "chart": f"{prefix.name}.png",
        },
        **extra,
    }
    return summary


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title=f"{summary['benchmark']} on {summary['database']}")
    for column in ("type", "name", "requests", "failures", "rps", "p50", "p95", "p99"):
        table.add_column(column, justify="left" if column in ("type", "name") else "right")
    for s in [*summary["endpoints"], *summary["flows"]]:
        table.add_row(
            s["type"],
            s["name"],
            str(s["requests"]),
            str(s["failures"]),
            f"{s['rps']:.1f}",
            f"{s['p50_ms']:.0f}",
            f"{s['p95_ms']:.0f}",
            f"{s['p99_ms']:.0f}",
        )
    console.print(table)
    console.print(
        f"requests {summary['requests']}, errors {summary['errors']} "
        f"({summary['error_ratio']:.2%}), completed payouts {summary['payouts']} "
        f"({summary['payouts_per_s']:.1f}/s), SLO {'passed' if summary['slo_passed'] else 'FAILED'}"
    )
    for part, label in (
        ("gateway", "gateway"),
        ("database", "PostgreSQL server"),
        ("load_generator", "Locust"),
    ):
        if f"{part}_cpu_ms_per_request" in summary:
            console.print(
                f"{label} CPU: {summary[f'{part}_cpu_seconds']:.1f} s, "
                f"{summary[f'{part}_cpu_ms_per_request']:.1f} ms per request"
                + (
                    f", {summary[f'{part}_cpu_ms_per_payout']:.0f} ms per completed payout"
                    if f"{part}_cpu_ms_per_payout" in summary
                    else ""
                )
            )
    if summary["biometric_outcomes"]:
        console.print(f"biometric outcomes (answers, not errors): {summary['biometric_outcomes']}")
    for failure in summary["failures"]:
        console.print(
            f"[red]{failure['occurrences']}× {failure['method']} {failure['name']}: "
            f"{failure['error']}"
        )


def _run(
    *,
    profile: str,
    households: int,
    users: int,
    step_users: int,
    step_seconds: float,
    seconds: float,
    database_url: str,
    host: str,
    manifest: Path | None,
    gateway_cpus: str,
    workers: int,
    slo: dict[str, float],
    target: dict[str, float],
    json_file: Path | None,
    out: Path,
    locust_cpus: str = "",
    from_templates: bool = False,
    suffix: str = "",
    flame: bool = False,
) -> dict[str, Any]:
    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    database = database_kind(database_url) if not host else "remote"
    prefix = out / f"load_{profile}_{database}{suffix}"
    load_average = os.getloadavg()
    locust_args: dict[str, Any] = {
        "prefix": prefix,
        "profile": profile,
        "seconds": seconds,
        "users": users,
        "step_users": step_users,
        "step_seconds": step_seconds,
        "slo": slo,
        "console": console,
        "cpus": locust_cpus,
    }
    extra: dict[str, Any] = {"load_average_at_start": load_average}
    if host:
        if manifest is None:
            raise typer.BadParameter("--host needs --manifest (written by --prepare-only)")
        exit_code = run_locust(host=host, manifest=manifest, **locust_args)
    else:
        with _bench_gateway(
            households=households,
            terminals=users,
            database_url=database_url,
            gateway_cpus=gateway_cpus,
            workers=workers,
            console=console,
            from_templates=from_templates,
        ) as (base, prepared, pid):
            extra.update(
                people=prepared.people,
                households_payable=prepared.households,
                decoys=prepared.decoys,
                terminals=prepared.terminals,
                gateway_cpus=gateway_cpus or "shared",
                locust_cpus=locust_cpus or "shared",
                gateway_workers=workers,
                processes=workers,
            )
            cpu_before = gateway_cpu_seconds(pid)
            database_before = postgres_cpu_by_pid()
            locust_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            with (
                _flame_graph(pid, Path(f"{prefix}_flame.svg"), seconds) if flame else nullcontext()
            ):
                exit_code = run_locust(host=base, manifest=prepared.manifest, **locust_args)
            extra["gateway_cpu_seconds"] = gateway_cpu_seconds(pid) - cpu_before
            extra["database_cpu_seconds"] = backend_cpu_seconds(
                database_url, APPLICATION_NAME, database_before
            )
            # Locust is the only child waited for while it runs (the gateway still runs).
            locust_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            extra["load_generator_cpu_seconds"] = (
                locust_after.ru_utime + locust_after.ru_stime
            ) - (locust_before.ru_utime + locust_before.ru_stime)
    extra.update(users=users, seconds_limit=seconds, slo=slo, target=target)
    summary = summarise(
        prefix=prefix, profile=profile, database=database, exit_code=exit_code, extra=extra
    )
    # CPU the gateway spent per request and per completed payout: unlike wall-clock rates,
    # these do not depend on what else runs on the machine.
    # The database server's and Locust's CPU come out of the same two cores when they run here.
    for part in ("gateway", "database", "load_generator"):
        spent = summary.get(f"{part}_cpu_seconds")
        if spent is not None and summary["requests"]:
            summary[f"{part}_cpu_ms_per_request"] = 1000 * spent / summary["requests"]
        # Per payout only where every flow ends in one (the mixed profile mostly finds
        # households already paid).
        if spent is not None and profile == "payout" and summary["payouts"]:
            summary[f"{part}_cpu_ms_per_payout"] = 1000 * spent / summary["payouts"]
    if profile == "payout" and summary.get("gateway_cpu_seconds") and summary["payouts"]:
        per_payout = summary["gateway_cpu_seconds"] / summary["payouts"]
        summary["projected_payouts_per_s_2_dedicated_cores"] = 2 / per_payout
        if summary.get("database_cpu_seconds") is not None:
            with_database = per_payout + summary["database_cpu_seconds"] / summary["payouts"]
            summary["projected_payouts_per_s_2_cores_with_database"] = 2 / with_database
    if profile == "payout":
        # The payout benchmark's headline keys, under the names its capacity model uses.
        summary.update(
            flow_p99_ms=summary["p99_ms"],
            db_cpu_ms_per_payout=summary.get("database_cpu_ms_per_payout"),
            loadgen_cpu_ms_per_payout=summary.get("load_generator_cpu_ms_per_payout"),
        )
    plot_history(Path(f"{prefix}_stats_history.csv"), Path(f"{prefix}.png"), title=prefix.name)
    print_summary(console, summary)
    text = json.dumps(summary, indent=2)
    Path(f"{prefix}.json").write_text(text)
    if json_file is not None:
        json_file.write_text(text)
    return summary


def _prepare_only(households: int, terminals: int, manifest: Path) -> None:
    """Enroll the gallery and register terminals in the deployment named by `SATUPINTU_*`."""
    settings = Settings()
    with open_runtime(settings) as rt:
        prepared = prepare(
            session_factory=rt.session_factory,
            data_dir=settings.data_dir,
            households=households,
            terminals=terminals,
        )
    manifest.write_bytes(prepared.manifest.read_bytes())
    manifest.chmod(0o600)
    Console().print(
        f"{prepared.people} people in {prepared.households} households, {prepared.decoys} "
        f"decoys, {prepared.terminals} terminals: manifest written to {manifest}"
    )


DATABASE_HELP = "Database for the gateway (default: a fresh SQLite file); PostgreSQL gets a schema."


def load_command(
    households: int = typer.Option(60, help="Demo households in the gallery."),
    users: int = typer.Option(16, help="Virtual agent terminals at the top step."),
    step_users: int = typer.Option(4, help="Terminals added at each step."),
    step_seconds: float = typer.Option(30.0, help="Length of a step."),
    seconds: float = typer.Option(300.0, help="Run time."),
    database_url: str = typer.Option("", help=DATABASE_HELP),
    host: str = typer.Option("", help="Load a deployed gateway instead (needs --manifest)."),
    manifest: Path = typer.Option(None, help="Manifest from --prepare-only (with --host)."),
    prepare_only: bool = typer.Option(
        False, help="Only enroll the gallery + terminals into the SATUPINTU_* deployment."
    ),
    gateway_cpus: str = typer.Option("", help="Pin the gateway to these CPUs (e.g. '0')."),
    workers: int = typer.Option(1, help="Gateway (uvicorn) worker processes."),
    max_error_ratio: float = typer.Option(0.0, help="SLO: unexpected errors / requests."),
    p99_ms: float = typer.Option(1000.0, help="SLO: p99 of every endpoint."),
    flow_p99_ms: float = typer.Option(2000.0, help="SLO: p99 of verify + pay, end to end."),
    json_file: Path = typer.Option(None, "--json", help="Also write the summary here."),
    profile: str = typer.Option(
        "mixed", help="mixed, or verify: 1:1 verifications only, back to back."
    ),
) -> None:
    """Mixed agent traffic (1:1, 1:N, e-KTP, failed captures, payouts) plus an ops console;
    or, with `--profile verify`, the verify 1:1 throughput benchmark."""
    if profile not in ("mixed", "verify"):
        raise typer.BadParameter("--profile is mixed or verify")
    if prepare_only:
        _prepare_only(households, users, manifest or Path("load.json"))
        return
    summary = _run(
        profile=profile,
        households=households,
        users=users,
        step_users=step_users,
        step_seconds=step_seconds,
        seconds=seconds,
        database_url=database_url,
        host=host,
        manifest=manifest,
        gateway_cpus=gateway_cpus,
        workers=workers,
        slo={"max_error_ratio": max_error_ratio, "p99_ms": p99_ms, "flow_p99_ms": flow_p99_ms},
        target={"verify_rps": 200, "verify_p99_ms": 100},
        json_file=json_file,
        out=results_dir(),
    )
    if not summary["slo_passed"]:
        raise typer.Exit(1)


PAYOUT_TARGET: dict[str, float] = {
    "payouts_per_s": 100,
    "flow_p99_ms": 250,
    "gateway_cpu_ms_per_payout": 10,
    "db_cpu_ms_per_payout": 3,
}


def payout_command(
    households: int = typer.Option(
        8000, help="Households to pay (each once); enough that the wave never runs dry."
    ),
    users: int = typer.Option(8, help="Agent terminals paying concurrently."),
    seconds: float = typer.Option(60.0, help="Length of the wave at each process count."),
    database_url: str = typer.Option(
        "postgresql+psycopg://postgres@127.0.0.1:5432/test", help=DATABASE_HELP
    ),
    gateway_cpus: str = typer.Option("", help="Pin the gateway to these CPUs (e.g. '0')."),
    locust_cpus: str = typer.Option("", help="Pin Locust to these CPUs (e.g. '1')."),
    processes: str = typer.Option(
        "1", help="Gateway (uvicorn) process counts to run the wave at, e.g. '1,2'."
    ),
    from_images: bool = typer.Option(
        False,
        "--from-images",
        help="Enroll the demo gallery through the enrollment service (slow) instead of "
        "one adult per household straight from templates.",
    ),
    json_file: Path = typer.Option(None, "--json", help="Also write the summary here."),
    in_process: bool = typer.Option(
        False,
        "--in-process",
        help="No Locust, no HTTP server: the processes call the ASGI app directly.",
    ),
    flame: bool = typer.Option(
        False,
        help="Profile the gateway during the wave: py-spy, <results>_flame.svg; with "
        "--in-process, cProfile of each phase, <results>_inprocess_<phase>_w<n>.{prof,txt} "
        "(its CPU figures are then inflated by the profiler).",
    ),
) -> None:
    """Verify 1:1 + cash-out payout per household, simulated bank: payouts/s and CPU a payout.

    Each process count gets its own fresh gallery and gateway; with more than one, a scaling
    summary and a plot of throughput and CPU per payout against processes are written too.
    """
    counts = sorted({int(n) for n in processes.split(",") if n.strip()})
    if not counts or counts[0] < 1:
        raise typer.BadParameter("--processes lists positive process counts, e.g. '1,2'")
    if in_process:
        _payout_in_process(
            households=households,
            users=users,
            database_url=database_url,
            workers=counts[-1],
            json_file=json_file,
            out=results_dir(),
            from_templates=not from_images,
            profile=flame,
        )
        return
    runs = [
        _run(
            profile="payout",
            households=households,
            users=users,
            step_users=users,
            step_seconds=seconds,
            seconds=seconds,
            database_url=database_url,
            host="",
            manifest=None,
            gateway_cpus=gateway_cpus,
            workers=count,
            slo={"max_error_ratio": 0.0, "p99_ms": 250.0, "flow_p99_ms": 250.0},
            target=PAYOUT_TARGET,
            json_file=None,
            out=results_dir(),
            locust_cpus=locust_cpus,
            from_templates=not from_images,
            suffix=("" if len(counts) == 1 else f"_{count}p") + ("_profiled" if flame else ""),
            flame=flame,
        )
        for count in counts
    ]
    if len(runs) > 1:
        write_scaling(runs, results_dir() / f"load_payout_{database_kind(database_url)}_scaling")
    if json_file is not None:
        json_file.write_text(json.dumps(runs[0] if len(runs) == 1 else runs, indent=2))
    if not all(r["errors"] == 0 for r in runs):
        raise typer.Exit(1)


SCALING_KEYS = (
    "processes",
    "payouts_per_s",
    "flow_p99_ms",
    "errors",
    "gateway_cpu_ms_per_payout",
    "db_cpu_ms_per_payout",
    "loadgen_cpu_ms_per_payout",
    "load_average_at_start",
    "gateway_cpus",
    "locust_cpus",
)


def write_scaling(runs: list[dict[str, Any]], stem: Path) -> None:
    """The headline figures at each process count: `<stem>.json` and a plot `<stem>.png`."""
    rows = [{key: run.get(key) for key in SCALING_KEYS} for run in runs]
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    plot_scaling(rows, stem.with_suffix(".png"))


def _payout_in_process(
    *,
    households: int,
    users: int,
    database_url: str,
    workers: int,
    json_file: Path | None,
    out: Path,
    from_templates: bool,
    profile: bool = False,
) -> None:
    """The service's own cost: verify + pay and pay alone, without Locust or uvicorn."""
    console = Console()
    out.mkdir(parents=True, exist_ok=True)
    database = database_kind(database_url)
    load_average = os.getloadavg()
    with (
        _prepared_bench(
            households=households,
            terminals=users,
            database_url=database_url,
            console=console,
            from_templates=from_templates,
        ) as (data_dir, url, prepared),
        console.status(f"{workers} process(es): verify + pay, then pay alone"),
    ):
        result = run_in_process(
            manifest=prepared.manifest,
            data_dir=data_dir,
            database_url=url,
            workers=workers,
            concurrency=max(1, users // workers),
            profile_prefix=str(out / f"load_payout_{database}_inprocess") if profile else "",
        )
    result.update(
        benchmark="load_payout",
        database=database,
        households_payable=prepared.households,
        terminals=prepared.terminals,
        load_average_at_start=load_average,
        cpus=os.cpu_count(),
        machine=platform.processor() or platform.machine(),
        target={"payouts_per_s": 150, "p99_ms": 250},
    )
    table = Table(title=f"payout in process ({database}, {workers} processes, {users} agents)")
    for column in (
        "phase",
        "payouts",
        "payouts/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/payout",
        "SQL/payout",
    ):
        table.add_column(column, justify="right")
    for phase, p50, p99 in (
        ("verify_and_pay", "flow_p50_ms", "flow_p99_ms"),
        ("pay_alone", "pay_p50_ms", "pay_p99_ms"),
    ):
        figures = result[phase]
        cpu = figures["gateway_cpu_ms_per_payout"]
        sql = figures["sql_statements_per_payout"]
        table.add_row(
            phase.replace("_", " "),
            str(figures["payouts"]),
            f"{figures['payouts_per_s']:.1f}",
            f"{figures[p50]:.0f}",
            f"{figures[p99]:.0f}",
            f"{cpu:.1f}" if cpu is not None else "-",
            f"{sql:.1f}" if sql is not None else "-",
        )
    console.print(table)
    text = json.dumps(result, indent=2)
    suffix = "_profiled" if profile else ""
    (out / f"load_payout_{database}_inprocess{suffix}.json").write_text(text)
    if json_file is not None:
        json_file.write_text(text)
