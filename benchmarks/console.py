"""`satupintu-bench console`: how fast the console's pages answer over a large register.

A gateway is built in process on a temporary SQLite database; the register is seeded in
bulk through the registry repository (households and programme memberships, no images:
the pages read counts, not biometrics), then each page is requested `--requests` times by
a signed-in operator and timed from request to full body. JSON keys: `households`,
`requests_per_page`, `pages` (per page `p50_ms`, `p95_ms`), `p95_ms` (the slowest page's
p95), `register_count_ms` (the count of households due the dashboard reuses for
`CONSOLE_REGISTER_COUNT_SECONDS`), `target_p95_ms`, `met`.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.output import write_json
from gateway.app import create_app
from gateway.console import accounts
from gateway.console import repository as console_repository
from gateway.console.web import COOKIE
from gateway.db import read_snapshot, unit_of_work, utcnow
from gateway.registry import repository as registry_repository
from gateway.registry.references import new_reference
from gateway.registry.synthetic import REGIONS
from gateway.settings import Settings
from gateway.terminals import service as terminal_service
from gateway.terminals.keys import encode_public_key
from gateway.terminals.models import OperatorRole

TARGET_P95_MS = 100.0
PASSWORD = "benchmark-console-password"
PAGES = (
    "/console/",
    "/console/dashboard/live",
    "/console/payouts/review",
    "/console/lockouts",
    "/console/terminals",
    "/console/reconciliation",
    "/console/audit",
)
PROGRAMMES = ("PKH", "SEMBAKO", "ATENSI_LANSIA")
BATCH = 5_000

console = Console()


def seed_register(app: Any, households: int) -> None:
    """`households` households over the synthetic regions, each in one to three programmes."""
    with Progress(console=console) as progress:
        task = progress.add_task("seeding households", total=households)
        for start in range(0, households, BATCH):
            rows = []
            for h in range(start, min(start + BATCH, households)):
                province, regency, district, _ = REGIONS[h % len(REGIONS)]
                rows.append(
                    {
                        "reference": new_reference("hh"),
                        "family_card_number": f"{province}{regency}{district}{h:010d}",
                        "province_code": province,
                        "regency_code": regency,
                        "district_code": district,
                        "graduated": h % 50 == 0,
                    }
                )
            with unit_of_work(app.state.session_factory) as session:
                ids = registry_repository.insert_households(session, rows)
                registry_repository.insert_memberships(
                    session,
                    [
                        {"household_id": hid, "programme_code": code}
                        for i, hid in enumerate(ids.values())
                        for code in PROGRAMMES[: 1 + i % len(PROGRAMMES)]
                    ],
                )
            progress.update(task, advance=len(rows))


def signed_in_cookie(app: Any) -> str:
    key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    with unit_of_work(app.state.session_factory) as session:
        terminal_service.register_operator(
            session=session, operator_id="bench-ops", name="Bench", role=OperatorRole.ops,
            public_key=encode_public_key(key), actor="bench",
        )  # fmt: skip
        accounts.create_account(
            session=session, operator_id="bench-ops", password=PASSWORD, language="id"
        )
        result = accounts.sign_in(
            session=session, operator_id="bench-ops", password=PASSWORD, now=utcnow(),
            attempts=5, lockout=dt.timedelta(minutes=15), lifetime=dt.timedelta(hours=1),
        )  # fmt: skip
    assert result.token is not None
    return result.token


def register_count_ms(app: Any) -> float:
    """Median time of the dashboard's register count, which it reuses for a minute."""
    times = []
    for _ in range(5):
        with read_snapshot(app.state.session_factory) as session:
            started = time.perf_counter()
            console_repository.households_due(session)
            times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def console_command(
    households: Annotated[int, typer.Option(help="Households in the register.")] = 100_000,
    requests: Annotated[int, typer.Option(help="Timed requests per page.")] = 100,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
) -> None:
    """Time every console page (p50, p95) over a register of `households` households."""
    with tempfile.TemporaryDirectory(prefix="satupintu-console-bench-") as tmp:
        app = create_app(Settings(data_dir=Path(tmp), environment="test", log_level="WARNING"))
        with TestClient(app) as client:
            seed_register(app, households)
            client.cookies.set(COOKIE, signed_in_cookie(app), path="/console")
            count_ms = register_count_ms(app)
            pages: dict[str, dict[str, float]] = {}
            for path in PAGES:
                for _ in range(3):  # warm caches and the connection pool
                    assert client.get(path).status_code == 200, path
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    answer = client.get(path)
                    times.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, path
                times.sort()
                pages[path] = {
                    "p50_ms": round(statistics.median(times), 2),
                    "p95_ms": round(times[max(0, int(0.95 * len(times)) - 1)], 2),
                }
    worst = max(p["p95_ms"] for p in pages.values())
    result = {
        "households": households,
        "requests_per_page": requests,
        "pages": pages,
        "p95_ms": worst,
        "register_count_ms": count_ms,
        "target_p95_ms": TARGET_P95_MS,
        "met": worst <= TARGET_P95_MS,
    }
    table = Table("page", "p50 ms", "p95 ms", title=f"Console pages, {households:,} households")
    for path, figures in pages.items():
        table.add_row(path, f"{figures['p50_ms']:.1f}", f"{figures['p95_ms']:.1f}")
    console.print(table)
    console.print(f"slowest p95 {worst:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms)")
    console.print(
        f"counting the register's households due (once a minute per process): {count_ms:.0f} ms"
    )
    write_json("console.json", result, json_out)
