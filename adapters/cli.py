"""`satupintu bank-sim ...`: run a simulated bank server, list adapter plugins."""

from __future__ import annotations

from pathlib import Path

import typer
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from rich.console import Console
from rich.table import Table

from adapters.bank import SimulatedBank
from adapters.faults import FaultInjector, FaultProfile
from adapters.iso20022.server import create_bank_app
from adapters.registry import discover
from adapters.snap.server import SnapPartner, create_snap_app

bank_sim_app = typer.Typer(
    help="Simulated bank servers (ISO 20022 or SNAP) and adapter plugins.", no_args_is_help=True
)


def _partner_key(path: Path | None, key_dir: Path) -> rsa.RSAPublicKey:
    """The SNAP partner's public key; generates a development pair when none is given."""
    if path is not None:
        key = serialization.load_pem_public_key(path.read_bytes())
        if not isinstance(key, rsa.RSAPublicKey):
            raise typer.BadParameter("the SNAP partner key must be an RSA public key")
        return key
    key_dir.mkdir(parents=True, exist_ok=True)
    private_file = key_dir / "snap_partner_private.pem"
    if private_file.exists():
        private = serialization.load_pem_private_key(private_file.read_bytes(), password=None)
        assert isinstance(private, rsa.RSAPrivateKey)
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_file.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        private_file.chmod(0o600)
    typer.echo(f"SNAP partner private key (development only): {private_file}")
    return private.public_key()


@bank_sim_app.command("serve")
def serve(
    protocol: str = typer.Option("iso20022", help="Wire protocol: iso20022 or snap."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8900, help="Port to listen on."),
    bank_code: str = typer.Option("BRINIDJA", help="The bank's BIC."),
    settlement_account: str = typer.Option("1001000000001", help="Gateway settlement account."),
    accounts: int = typer.Option(100, help="Customer accounts to open (2002000000001...)."),
    seed: int = typer.Option(0, help="Fault injection seed (same seed, same faults)."),
    decline_rate: float = typer.Option(0.0, help="Share of transfers declined."),
    timeout_rate: float = typer.Option(0.0, help="Share of requests that never arrive."),
    lost_answer_rate: float = typer.Option(0.0, help="Share of answers lost after booking."),
    late_answer_rate: float = typer.Option(0.0, help="Share of transfers settled late."),
    duplicate_rate: float = typer.Option(0.0, help="Share of requests delivered twice."),
    garble_rate: float = typer.Option(0.0, help="Share of answers garbled."),
    latency_ms: float = typer.Option(0.0, help="Upper bound of the uniform answer latency."),
    snap_client_id: str = typer.Option("SATUPINTU01", help="SNAP partner id (X-PARTNER-ID)."),
    snap_client_secret: str = typer.Option(
        "development-snap-secret", help="SNAP HMAC secret shared with the partner."
    ),
    snap_public_key: Path | None = typer.Option(None, help="SNAP partner RSA public key (PEM)."),
    key_dir: Path = typer.Option(Path("var/bank-sim"), help="Where development keys go."),
) -> None:
    """Serve a simulated bank with its own ledger over HTTP (one process, in memory)."""
    bank = SimulatedBank(bank_code=bank_code, settlement_account=settlement_account)
    for i in range(1, accounts + 1):
        bank.open_account(f"2002{i:09d}", f"Customer {i}")
    faults = FaultInjector(
        FaultProfile(
            decline_rate=decline_rate,
            timeout_rate=timeout_rate,
            lost_answer_rate=lost_answer_rate,
            late_answer_rate=late_answer_rate,
            duplicate_rate=duplicate_rate,
            garble_rate=garble_rate,
            latency_ms=(0.0, latency_ms),
        ),
        seed=seed,
    )
    app: FastAPI
    if protocol == "iso20022":
        app = create_bank_app(bank, faults=faults)
    elif protocol == "snap":
        partner = SnapPartner(
            snap_client_id, _partner_key(snap_public_key, key_dir), snap_client_secret
        )
        app = create_snap_app(bank, partner, faults=faults)
    else:
        raise typer.BadParameter("protocol must be iso20022 or snap", param_hint="--protocol")
    typer.echo(f"simulated bank {bank_code} speaking {protocol} on http://{host}:{port}")
    uvicorn.run(app, host=host, port=port, log_level="warning")


@bank_sim_app.command("plugins")
def plugins() -> None:
    """List installed bank adapter plugins; exits 1 when one is broken."""
    report = discover()
    table = Table(title="Bank adapter plugins (entry point group satupintu.adapters)")
    table.add_column("name")
    table.add_column("status")
    table.add_column("detail")
    for name, factory in sorted(report.factories.items()):
        table.add_row(name, "ok", f"{factory.__module__}.{factory.__qualname__}")
    for name, error in sorted(report.broken.items()):
        table.add_row(name, "[red]broken[/red]", error.message)
    Console().print(table)
    if report.broken:
        raise typer.Exit(1)
