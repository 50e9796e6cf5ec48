"""The `satupintu` command line: one Typer app, one sub-command group per domain."""

from __future__ import annotations

import os

import typer

from adapters.cli import bank_sim_app
from gateway import migrate
from gateway import serve as gateway_serve
from gateway.audit.cli import audit_app
from gateway.cli_demo import demo_command
from gateway.cli_keys import keys_app
from gateway.cli_match import calibrate_command, match_command
from gateway.cli_synth import synth_app
from gateway.cli_templates import template_app
from gateway.console.cli import console_app
from gateway.db import make_engine
from gateway.indexing.cli import index_app
from gateway.logs import configure_logging
from gateway.payouts.cli import payouts_app, programmes_app, reconcile
from gateway.registry.cli import registry_app
from gateway.settings import Settings
from gateway.terminals.cli import devices_app, operators_app, terminals_app

app = typer.Typer(
    help="Satu Pintu: biometric identity and cardless payout gateway.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(registry_app, name="registry")
app.add_typer(index_app, name="index")
app.command("demo")(demo_command)
app.add_typer(bank_sim_app, name="bank-sim")
app.add_typer(terminals_app, name="terminals")
app.add_typer(devices_app, name="devices")
app.add_typer(operators_app, name="operators")
app.add_typer(console_app, name="console")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(template_app, name="template")
app.add_typer(template_app, name="templates", hidden=True)  # the plural reads as well
app.add_typer(synth_app, name="synth")
app.add_typer(programmes_app, name="programmes")
app.add_typer(payouts_app, name="payouts")
app.command("reconcile")(reconcile)
app.command("match")(match_command)
app.command("calibrate")(calibrate_command)


@app.command()
def serve(
    host: str = typer.Option(None, help="Address to listen on (default from settings)."),
    port: int = typer.Option(None, help="Port to listen on (default from settings)."),
    workers: int = typer.Option(
        1, min=1, help="Processes, one listening socket each (SO_REUSEPORT); one per core."
    ),
    dev_insecure_captures: bool = typer.Option(
        False,
        "--dev-insecure-captures",
        help="Development only: also accept captures in clear (unsealed, unsigned by a device).",
    ),
) -> None:
    """Run the gateway (scale with processes, not threads: `--workers`, one per core)."""
    if dev_insecure_captures:
        # Through the environment, so every worker process builds its settings with it.
        os.environ["SATUPINTU_ALLOW_PLAINTEXT_CAPTURES"] = "true"
    settings = Settings()  # production refuses clear captures here, before serving
    if settings.allow_plaintext_captures:
        typer.secho(
            "INSECURE: captures in clear are accepted (development only); deployments take "
            "HPKE-sealed, device-signed captures alone.",
            fg=typer.colors.RED,
            err=True,
        )
    try:
        gateway_serve.serve(host or settings.host, port or settings.port, workers)
    except gateway_serve.PortInUse as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(code=1) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration to the configured database."""
    settings = Settings()
    configure_logging(settings.log_level, json_lines=False)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


if __name__ == "__main__":
    app()
