"""`satupintu terminals|devices|operators ...`: manage who may talk to the gateway."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from gateway.crypto.runtime import open_runtime
from gateway.db import unit_of_work
from gateway.errors import GatewayError
from gateway.terminals import service
from gateway.terminals.keys import encode_public_key
from gateway.terminals.models import OperatorRole, PrincipalStatus

terminals_app = typer.Typer(help="Terminal registry.", no_args_is_help=True)
devices_app = typer.Typer(help="Capture devices registered to terminals.", no_args_is_help=True)
operators_app = typer.Typer(help="Operators of the ops API.", no_args_is_help=True)
console = Console()
ACTOR = "cli"


def _key_option(public_key: str | None, generate_key: Path | None) -> str:
    """The public key to register: given, or from a new key pair whose private half we write."""
    if (public_key is None) == (generate_key is None):
        raise typer.BadParameter("give exactly one of --public-key or --generate-key")
    if public_key is not None:
        return public_key
    assert generate_key is not None
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    generate_key.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(generate_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    console.print(f"private key written to {generate_key} (mode 0600)")
    return encode_public_key(private.public_key().public_bytes_raw())


@contextmanager
def _transaction() -> Iterator[Session]:
    """One committed unit of work; a refused change prints its code and exits 1."""
    with open_runtime() as rt:
        try:
            with unit_of_work(rt.session_factory) as session:
                yield session
        except GatewayError as exc:
            console.print(f"[red]{exc.code}[/red]: {exc.message}")
            raise typer.Exit(1) from exc


@terminals_app.command("add")
def add_terminal(
    terminal_id: str,
    agent: str = typer.Option(..., help="Agent (shop) name"),
    bank: str = typer.Option(..., help="Bank code, e.g. BRI"),
    province: str = typer.Option(..., help="Province code, 2 digits"),
    regency: str = typer.Option(..., help="Regency code within the province, 2 digits"),
    public_key: str | None = typer.Option(None, help="Ed25519 public key, base64 or PEM"),
    generate_key: Path | None = typer.Option(None, help="Create a key pair; write private PEM"),
) -> None:
    """Register a terminal (active at once)."""
    key = _key_option(public_key, generate_key)
    with _transaction() as session:
        service.register_terminal(
            session=session,
            terminal_id=terminal_id,
            agent_name=agent,
            bank_code=bank,
            province_code=province,
            regency_code=regency,
            public_key=key,
            actor=ACTOR,
        )
    console.print(f"terminal {terminal_id} registered, public key {key}")


@terminals_app.command("list")
def list_terminals(
    status: PrincipalStatus | None = typer.Option(None), limit: int = typer.Option(100)
) -> None:
    """List terminals."""
    table = Table("id", "agent", "bank", "region", "status", "public key")
    with open_runtime() as rt, unit_of_work(rt.session_factory) as session:
        for t in service.list_terminals(session=session, status=status, limit=limit):
            table.add_row(
                t.id,
                t.agent_name,
                t.bank_code,
                t.province_code + t.regency_code,
                t.status.value,
                encode_public_key(t.public_key),
            )
    console.print(table)


def _set_terminal_status(terminal_id: str, status: PrincipalStatus, reason: str | None) -> None:
    with _transaction() as session:
        service.set_terminal_status(
            session=session,
            terminal_id=terminal_id,
            status=status,
            reason=reason,
            actor=ACTOR,
        )
    console.print(f"terminal {terminal_id} is now {status.value}")


@terminals_app.command("suspend")
def suspend(terminal_id: str, reason: str | None = typer.Option(None)) -> None:
    """Stop serving a terminal for now."""
    _set_terminal_status(terminal_id, PrincipalStatus.suspended, reason)


@terminals_app.command("activate")
def activate(terminal_id: str) -> None:
    """Serve a suspended terminal again."""
    _set_terminal_status(terminal_id, PrincipalStatus.active, None)


@terminals_app.command("revoke")
def revoke(terminal_id: str, reason: str | None = typer.Option(None)) -> None:
    """Revoke a terminal and its devices for good (lost or compromised key)."""
    _set_terminal_status(terminal_id, PrincipalStatus.revoked, reason)


@terminals_app.command("rekey")
def rekey(
    terminal_id: str,
    public_key: str | None = typer.Option(None, help="Ed25519 public key, base64 or PEM"),
    generate_key: Path | None = typer.Option(None, help="Create a key pair; write private PEM"),
) -> None:
    """Replace a terminal's public key; requests signed with the old key are refused."""
    key = _key_option(public_key, generate_key)
    with _transaction() as session:
        service.replace_terminal_key(
            session=session, terminal_id=terminal_id, public_key=key, actor=ACTOR
        )
    console.print(f"terminal {terminal_id} re-keyed, public key {key}")


@devices_app.command("add")
def add_device(
    terminal_id: str,
    device_id: str,
    model: str = typer.Option("", help="Sensor model"),
    public_key: str | None = typer.Option(None, help="Ed25519 public key, base64 or PEM"),
    generate_key: Path | None = typer.Option(None, help="Create a key pair; write private PEM"),
) -> None:
    """Register a capture device to a terminal."""
    key = _key_option(public_key, generate_key)
    with _transaction() as session:
        service.register_device(
            session=session,
            terminal_id=terminal_id,
            device_id=device_id,
            model=model,
            public_key=key,
            actor=ACTOR,
        )
    console.print(f"device {device_id} registered to {terminal_id}")


@devices_app.command("revoke")
def revoke_device(device_id: str) -> None:
    """Revoke a capture device for good."""
    with _transaction() as session:
        service.set_device_status(
            session=session,
            device_id=device_id,
            status=PrincipalStatus.revoked,
            actor=ACTOR,
        )
    console.print(f"device {device_id} revoked")


@operators_app.command("add")
def add_operator(
    operator_id: str,
    name: str = typer.Option(...),
    role: OperatorRole = typer.Option(OperatorRole.ops),
    public_key: str | None = typer.Option(None, help="Ed25519 public key, base64 or PEM"),
    generate_key: Path | None = typer.Option(None, help="Create a key pair; write private PEM"),
) -> None:
    """Register an operator who signs ops API requests."""
    key = _key_option(public_key, generate_key)
    with _transaction() as session:
        service.register_operator(
            session=session,
            operator_id=operator_id,
            name=name,
            role=role,
            public_key=key,
            actor=ACTOR,
        )
    console.print(f"operator {operator_id} ({role.value}) registered")


@operators_app.command("revoke")
def revoke_operator(operator_id: str) -> None:
    """Revoke an operator for good."""
    with _transaction() as session:
        service.set_operator_status(
            session=session,
            operator_id=operator_id,
            status=PrincipalStatus.revoked,
            actor=ACTOR,
        )
    console.print(f"operator {operator_id} revoked")
