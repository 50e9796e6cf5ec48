"""`satupintu audit verify`: prove the audit chain intact or name its first broken link."""

from __future__ import annotations

import typer
from rich.console import Console

from gateway.audit.service import verify_chain
from gateway.crypto.runtime import open_runtime
from gateway.db import unit_of_work

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
console = Console()


@audit_app.command("verify")
def verify() -> None:
    """Recompute every link; exit 1 and name the first broken entry if the chain is not intact."""
    with open_runtime() as rt, unit_of_work(rt.session_factory) as session:
        result = verify_chain(session=session, store=rt.store)
    if result.ok:
        console.print(
            f"[green]audit chain intact[/green]: {result.entries} entries, "
            f"head MAC {result.head_mac} (record it elsewhere to anchor the chain)"
        )
        return
    console.print(
        f"[red]audit chain broken at entry {result.broken_seq}[/red]: {result.reason} "
        f"({result.entries} entries verified before it)"
    )
    raise typer.Exit(1)
