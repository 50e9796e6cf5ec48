"""`satupintu payouts review` and `programmes fund` on the database the gateway uses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.base import AccountRef, TransferKind
from gateway.cli import app
from gateway.crypto.runtime import open_runtime
from gateway.db import unit_of_work
from gateway.payouts import repository
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.programmes import EXAMPLE_CONFIG, load_catalogue
from gateway.payouts.service import PayoutOrder, reserve

from .conftest import family


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SATUPINTU_DATABASE_URL", raising=False)
    monkeypatch.delenv("SATUPINTU_KEYRING", raising=False)
    return tmp_path


def _payout_in_review() -> tuple[str, int]:
    """A payout as the worker leaves it when the bank has not answered for hours."""
    with open_runtime() as rt, unit_of_work(rt.session_factory) as session:
        reserved = reserve(
            session=session,
            order=PayoutOrder(
                terminal_id="T-1",
                idempotency_key="k1",
                request_hash="0" * 64,
                token_id="tok-1",
                household=family(1),
                bank_code="BRI",
                channel=TransferKind.ACCOUNT_CREDIT,
                creditor=AccountRef("BRI", "2002000000001", "Keluarga"),
            ),
            catalogue=load_catalogue(EXAMPLE_CONFIG),
            now=datetime(2026, 11, 27, 3, tzinfo=UTC),
            policy=PayoutPolicy(),
        ).payout
        payout = repository.payout_by_id(session, reserved.id)
        assert payout is not None
        payout.state, payout.failure_code = "needs_review", "outcome_unknown"
        repository.delete_task(session, payout.id)
        return payout.reference, payout.amount


def test_fund_then_review_list_resolve_and_approve(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SATUPINTU_PAYOUT_REVIEW_SECOND_SIGNATURE_RUPIAH", "1000000")
    runner = CliRunner()
    for _ in range(2):
        funded = runner.invoke(app, ["programmes", "fund"])
        assert funded.exit_code == 0, funded.output
    reference, amount = _payout_in_review()
    listed = runner.invoke(app, ["payouts", "review", "list"])
    assert reference in listed.output and f"Rp {amount:,} held" in listed.output
    decide = [
        "payouts", "review", "resolve", reference, "--decision", "commit",
        "--reason", "The statement line shows it credited.", "--evidence", "BRIN0000000007",
        "--operator", "ops-1",
    ]  # fmt: skip
    proposed = runner.invoke(app, decide)
    assert proposed.exit_code == 0 and "awaiting" in proposed.output, proposed.output
    same = runner.invoke(app, ["payouts", "review", "approve", reference, "--supervisor", "ops-1"])
    assert same.exit_code == 2 and "second_signature_required" in same.output
    approved = runner.invoke(
        app, ["payouts", "review", "approve", reference, "--supervisor", "sup-1"]
    )
    assert approved.exit_code == 0 and "applied" in approved.output, approved.output
    shown = runner.invoke(app, ["payouts", "review", "show", reference])
    assert '"state": "committed"' in shown.output
    assert runner.invoke(app, ["payouts", "review", "show", "SPNOPE"]).exit_code == 2
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
