"""`satupintu demo`: load the synthetic register and biometrics (idempotent, under a minute)."""

from __future__ import annotations

import datetime as dt
import time

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.crypto.runtime import open_runtime
from gateway.demo import run_demo


def demo_command(
    households: int = typer.Option(40, min=1, max=5000, help="Households in the register."),
) -> None:
    """Load a synthetic register across regions with enrolled synthetic biometrics."""
    console = Console()
    started = time.perf_counter()
    with (
        open_runtime() as runtime,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("enrolling adults", total=None)
        summary = run_demo(
            session_factory=runtime.session_factory,
            data_dir=runtime.settings.data_dir,
            households=households,
            today=dt.date.today(),
            progress=lambda _stage, done, total: progress.update(task, completed=done, total=total),
        )
    table = Table(title=f"Demo register ({time.perf_counter() - started:.1f} s)")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("households", str(summary.households))
    table.add_row("people", str(summary.people))
    table.add_row("enrolled now", str(summary.enrolled))
    table.add_row("already enrolled", str(summary.already_enrolled))
    table.add_row("held for adjudication", str(summary.held_for_adjudication))
    table.add_row("terminals", ", ".join(summary.terminals))
    console.print(table)
    console.print(
        f"People, keys and probe records (ISO 19794-2) are under {summary.directory}/ "
        "(development keys: never deploy them)."
    )
    console.print(
        "The demo enrolled its synthetic people in process from captures in clear (development "
        "only); the served gateway still takes sealed, device-signed captures alone unless "
        "started with `satupintu serve --dev-insecure-captures`."
    )
