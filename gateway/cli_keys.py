"""`satupintu keys ...`: create, inspect and rotate the key ring."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from gateway.audit.service import AuditKind, append
from gateway.crypto.keyring import KeyStore
from gateway.crypto.rotation import rewrap_all
from gateway.crypto.runtime import open_runtime
from gateway.db import unit_of_work
from gateway.settings import Settings

keys_app = typer.Typer(
    help="Key ring: KEKs, HPKE keys, lookup and audit keys.", no_args_is_help=True
)
console = Console()


@keys_app.command("init")
def init() -> None:
    """Create the key ring file if missing (the deliberate step production requires)."""
    settings = Settings()
    store = KeyStore.from_settings(settings, create=True)
    console.print(f"key ring ready at {store.path if not store.read_only else 'environment'}")


@keys_app.command("show")
def show() -> None:
    """Key ids only (never key material): which KEK and HPKE keys exist and are active."""
    ring = KeyStore.from_settings(Settings()).current()
    table = Table("kind", "key id", "state")
    for kid in sorted(ring.keks):
        table.add_row("kek", kid, "active" if kid == ring.active_kek else "accepted")
    for kid in sorted(ring.hpke):
        state = {ring.active_hpke: "current", ring.previous_hpke: "previous"}.get(kid, "retired")
        table.add_row("hpke", kid, state)
    console.print(table)


@keys_app.command("rotate")
def rotate(
    new_kek: bool = typer.Option(True, help="Generate a new active KEK first (file rings)"),
    hpke: bool = typer.Option(False, help="Also start a new HPKE key (previous stays accepted)"),
    batch_size: int = typer.Option(500, min=1, help="Rows per committed batch"),
) -> None:
    """Re-wrap every stored envelope's data key to the active KEK, online, in batches."""
    with open_runtime() as rt:
        store = rt.store
        ring = store.current()
        if not store.read_only:
            if new_kek:
                ring = ring.with_new_kek()
            if hpke:
                ring = ring.with_new_hpke()
            store.save(ring)
        elif new_kek or hpke:
            console.print("key ring comes from the environment: re-wrapping to its active KEK")
        with Progress(console=console) as progress:
            task = progress.add_task("re-wrapping", total=None)
            report = rewrap_all(
                session_factory=rt.session_factory,
                store=store,
                batch_size=batch_size,
                progress=lambda _name, n: progress.advance(task, n),
            )
        with unit_of_work(rt.session_factory) as session:
            append(
                session=session,
                kind=AuditKind.key_rotation,
                actor="cli",
                subject=f"kek:{report.active_kek}",
                data={
                    "active_hpke": ring.active_hpke,
                    "rewrapped": report.rewrapped,
                    "skipped": report.skipped,
                },
            )
    table = Table("column", "re-wrapped", "already current", "changed meanwhile")
    for name in report.rewrapped:
        table.add_row(
            name, str(report.rewrapped[name]), str(report.current[name]), str(report.skipped[name])
        )
    console.print(table)
    console.print(f"active KEK {report.active_kek}; HPKE key {ring.active_hpke}")
    if any(report.skipped.values()):
        console.print("rows changed during the pass were written by the new key already")
