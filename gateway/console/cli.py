"""`satupintu console add-operator`: give an operator (new or existing) a console password."""

from __future__ import annotations

from pathlib import Path

import typer

from gateway.console import accounts
from gateway.terminals import repository as terminal_repository
from gateway.terminals import service as terminal_service
from gateway.terminals.cli import _key_option, _transaction, console
from gateway.terminals.models import OperatorRole

console_app = typer.Typer(help="The operators' console.", no_args_is_help=True)


@console_app.command("add-operator")
def add_operator(
    operator_id: str,
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="SATUPINTU_CONSOLE_PASSWORD",
        help="At least 12 characters (prompted; or from SATUPINTU_CONSOLE_PASSWORD).",
    ),
    name: str | None = typer.Option(None, help="Name of a new operator"),
    role: OperatorRole | None = typer.Option(None, help="Role of a new operator"),
    language: str = typer.Option("id", help="Console language: id or en"),
    public_key: str | None = typer.Option(None, help="A new operator's Ed25519 key (API use)"),
    generate_key: Path | None = typer.Option(None, help="Create a new operator's key pair"),
    replace: bool = typer.Option(False, help="Replace an existing console password"),
) -> None:
    """Sign-in for an operator: registered first when `--name` and `--role` are given (with
    an API key, as every operator has), else an existing operator keeps id, role and key."""
    with _transaction() as session:
        if terminal_repository.get_operator(session, operator_id) is None:
            if name is None or role is None:
                raise typer.BadParameter("a new operator needs --name and --role")
            terminal_service.register_operator(
                session=session,
                operator_id=operator_id,
                name=name,
                role=role,
                public_key=_key_option(public_key, generate_key),
                actor="cli",
            )
        accounts.create_account(
            session=session,
            operator_id=operator_id,
            password=password,
            language=language,
            replace=replace,
        )
    console.print(f"operator {operator_id} may sign in to the console")
