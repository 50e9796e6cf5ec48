"""`satupintu registry ...`: import the register from CSV with a progress bar and a summary."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from gateway.crypto.runtime import open_runtime
from gateway.errors import GatewayError
from gateway.registry.importer import import_register

registry_app = typer.Typer(
    help="The single register of beneficiary families.", no_args_is_help=True
)


@registry_app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Register CSV file."),
    errors: Path = typer.Option(
        None, help="Where to write the per-line error report (default FILE.errors.csv)."
    ),
    batch_size: int = typer.Option(1000, min=1, max=50_000, help="Rows per transaction."),
) -> None:
    """Import households, members and programme memberships; re-running is idempotent."""
    console = Console()
    report_path = errors or file.with_suffix(".errors.csv")
    total = file.stat().st_size
    with (
        open_runtime() as runtime,
        file.open("rb") as source,
        report_path.open("w", encoding="utf-8", newline="") as report,
        Progress(
            TextColumn("[bold]importing"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[rows]:,} rows"),
            TimeRemainingColumn(),
            console=console,
        ) as progress,
    ):
        task = progress.add_task("import", total=total, rows=0)
        try:
            summary = import_register(
                session_factory=runtime.session_factory,
                source=source,
                error_report=report,
                batch_size=batch_size,
                progress=lambda rows: progress.update(task, completed=source.tell(), rows=rows),
            )
        except GatewayError as exc:
            report_path.unlink(missing_ok=True)  # the file itself was refused: no line report
            console.print(f"[red]{exc.code}[/red]: {exc.message}")
            raise typer.Exit(code=2) from None
    table = Table(title="Register import")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.as_dict().items():
        table.add_row(key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    if summary.errors:
        console.print(f"[yellow]{summary.errors:,} bad rows[/yellow], see {report_path}")
    else:
        report_path.unlink(missing_ok=True)
