"""`satupintu reconcile`, `programmes` and `payouts review`: the money half's operator commands.

The review commands run on the gateway's host with its database and key ring, so whoever
runs them is trusted as the host is; each names the person acting (`--operator`), every
step is audited under that name, and a decision above the second-signature amount waits for
`approve` by another name, as through the operator API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from gateway.crypto.runtime import open_runtime
from gateway.db import unit_of_work, utcnow
from gateway.errors import GatewayError
from gateway.payouts import banks, reconciliation, review, review_views, wiring
from gateway.payouts.programmes import (
    EXAMPLE_CONFIG,
    ProgrammeConfigError,
    load_catalogue,
)
from gateway.settings import Settings

programmes_app = typer.Typer(
    help="Programme catalogue: check, show and fund.", no_args_is_help=True
)
payouts_app = typer.Typer(
    help="Payouts: the review of those the bank left open.", no_args_is_help=True
)
review_app = typer.Typer(help="Payouts waiting for a person's decision.", no_args_is_help=True)
payouts_app.add_typer(review_app, name="review")
console = Console()


@contextmanager
def _refusals() -> Iterator[None]:
    """A refusal (unknown payout, not in review, same signer) is a message, not a traceback."""
    try:
        yield
    except GatewayError as exc:
        console.print(f"[red]{exc.code}[/red]: {exc}")
        raise typer.Exit(code=2) from None


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
    with open_runtime(settings) as rt, unit_of_work(rt.session_factory) as session:
        adapters = banks.load_banks(settings, session=session)
        if bank not in adapters:
            raise typer.BadParameter(
                f"no adapter for {bank}; configured: {', '.join(sorted(adapters))}",
                param_hint="--bank",
            )
        # What the statement and the bank's status prove is settled first (and audited).
        report = reconciliation.reconcile(
            session=session, adapter=adapters[bank], day=statement_day, resolve_at=utcnow()
        )
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


@programmes_app.command("fund")
def fund(
    path: Path = typer.Argument(None, help="Programme TOML file (default: the configured one)."),
) -> None:
    """Bring every budget account to its configured budget, once (the gateway does the same,
    serialised, at start); name any programme whose budget is below its spending."""
    settings = Settings()
    catalogue = load_catalogue(path or settings.programmes_file or EXAMPLE_CONFIG)
    with open_runtime(settings) as rt, unit_of_work(rt.session_factory) as session:
        suspended = wiring.fund_catalogue(session=session, catalogue=catalogue)
    for programme in catalogue.programmes:
        state = suspended.get(programme.code, "funded")
        console.print(f"{programme.code}: Rp {programme.budget:,}: {state}")
    if suspended:
        raise typer.Exit(code=1)


@review_app.command("list")
def review_list(
    bank: str = typer.Option(None, "--bank", help="Only this bank's payouts."),
) -> None:
    """Payouts in review with their reason and the money each holds."""
    with open_runtime() as rt, unit_of_work(rt.session_factory) as session:
        items = [review_views.item(p) for p in review.in_review(session=session, bank_code=bank)]
    table = Table(title="Payouts in review")
    # The reference is what an operator copies into `show` and `resolve`: never cut it.
    table.add_column("reference", no_wrap=True, min_width=22)
    for column in ("bank", "amount", "reason", "since"):
        table.add_column(column)
    for item in items:
        table.add_row(
            item.reference,
            item.bank,
            f"{item.amount:,}",
            item.reason or "",
            item.created_at.isoformat(timespec="seconds"),
        )
    console.print(table)
    console.print(f"{len(items)} payouts, Rp {sum(i.amount for i in items):,} held")


@review_app.command("show")
def review_show(reference: str = typer.Argument(..., help="The payout's reference.")) -> None:
    """One case as JSON: lines, late answers, decisions so far and its audit history."""
    with _refusals(), open_runtime() as rt, unit_of_work(rt.session_factory) as session:
        shown = review_views.case_out(review.case(session=session, reference=reference))
    typer.echo(shown.model_dump_json(indent=2))


@review_app.command("resolve")
def review_resolve(
    reference: str = typer.Argument(..., help="The payout's reference."),
    decision: review.Decision = typer.Option(..., "--decision", help="commit or void."),
    reason: str = typer.Option(..., "--reason", help="Why, in a sentence."),
    evidence: str = typer.Option(..., "--evidence", help="Bank reference or statement id."),
    operator: str = typer.Option(..., "--operator", help="Who decides (an ops operator id)."),
) -> None:
    """Commit or void a payout in review; above the second-signature amount it waits for
    `approve` by a supervisor."""
    if len(reason) < 10:
        raise typer.BadParameter("give the reason in a sentence", param_hint="--reason")
    with _refusals(), open_runtime() as rt, unit_of_work(rt.session_factory) as session:
        resolution = review.resolve(
            session=session,
            reference=reference,
            decision=decision,
            reason=reason,
            evidence=evidence,
            operator=f"operator:{operator}",
            now=utcnow(),
            second_signature_above=rt.settings.payout_review_second_signature_rupiah,
        )
    console.print(f"{reference}: {resolution.decision} {resolution.status.replace('_', ' ')}")


@review_app.command("approve")
def review_approve(
    reference: str = typer.Argument(..., help="The payout's reference."),
    supervisor: str = typer.Option(..., "--supervisor", help="Who signs second."),
) -> None:
    """A supervisor's second signature on the waiting decision (a reversal goes to the bank)."""
    with _refusals(), open_runtime() as rt, unit_of_work(rt.session_factory) as session:
        resolution = review.approve(
            session=session,
            reference=reference,
            supervisor=f"operator:{supervisor}",
            now=utcnow(),
            adapters=banks.load_banks(rt.settings, session=session),
        )
    console.print(f"{reference}: {resolution.decision} {resolution.status}")
