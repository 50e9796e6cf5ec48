"""`satupintu reconcile` and `satupintu programmes`: the money half's operator commands."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from gateway.db import make_engine, make_session_factory, unit_of_work
from gateway.payouts import banks, reconciliation
from gateway.payouts.programmes import (
    EXAMPLE_CONFIG,
    ProgrammeConfigError,
    load_catalogue,
)
from gateway.settings import Settings

programmes_app = typer.Typer(help="Programme catalogue: check and show.", no_args_is_help=True)
console = Console()


def reconcile(
    bank: str = typer.Option(..., "--bank", help="Bank code as configured (e.g. BRI)."),
    day: str = typer.Option(..., "--date", help="Statement day, YYYY-MM-DD (bank time, WIB)."),
    out: Path = typer.Option(None, help="Report folder (default: DATA_DIR/reconciliation)."),
) -> None:
    """Match the bank's camt.053 statement for a day with the ledger; write CSV and JSON."""
    settings = Settings()
    try:
        statement_day = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a YYYY-MM-DD date", param_hint="--date") from None
    engine = make_engine(settings.resolved_database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            adapters = banks.load_banks(settings, session=session)
            if bank not in adapters:
                raise typer.BadParameter(
                    f"no adapter for {bank}; configured: {', '.join(sorted(adapters))}",
                    param_hint="--bank",
                )
            report = reconciliation.reconcile(
                session=session, adapter=adapters[bank], day=statement_day
            )
    finally:
        engine.dispose()
    csv_path, json_path = reconciliation.write_report(
        report, out or settings.data_dir / "reconciliation"
    )
    table = Table(title=f"Reconciliation {bank} {statement_day.isoformat()}")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for key, value in report.summary().items():
        table.add_row(key, str(value))
    console.print(table)
    console.print(f"report: {csv_path} and {json_path}")
    if not report.clean:
        raise typer.Exit(code=1)


@programmes_app.command("check")
def check(path: Path = typer.Argument(EXAMPLE_CONFIG, help="Programme TOML file.")) -> None:
    """Validate a programme file and print its programmes, or name every problem."""
    try:
        catalogue = load_catalogue(path)
    except ProgrammeConfigError as exc:
        console.print(f"[red]invalid:[/red] {exc}")
        raise typer.Exit(code=2) from None
    table = Table(title=str(path))
    for column in ("code", "cluster", "period", "budget", "components"):
        table.add_column(column)
    for programme in catalogue.programmes:
        table.add_row(
            programme.code,
            programme.cluster.value,
            programme.period.value,
            f"{programme.budget:,}",
            ", ".join(f"{c.code}={c.amount:,}" for c in programme.components),
        )
    console.print(table)


@programmes_app.command("show")
def show(path: Path = typer.Argument(EXAMPLE_CONFIG, help="Programme TOML file.")) -> None:
    """Print a programme file as JSON, as the gateway reads it."""
    typer.echo(json.dumps(load_catalogue(path).model_dump(mode="json"), indent=2))
