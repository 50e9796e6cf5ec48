"""The bank-fault wave: nothing the bank's books can decide is left for a person."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.progress import Progress

from benchmarks.bank_faults import SCENARIOS, run_wave
from benchmarks.simulation import audit_keys
from gateway import migrate
from gateway.db import make_engine, make_session_factory


@pytest.mark.parametrize("name", ["misbehaving-2min", "timeouts-2min"])
def test_a_short_deadline_sends_payouts_to_review_and_the_statements_settle_them(
    tmp_path: Path, name: str
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'faults.db'}")
    migrate.upgrade(engine)
    with audit_keys(tmp_path), Progress(disable=True) as progress:
        result = run_wave(
            name,
            SCENARIOS[name],
            households=30,
            seed=3,
            factory=make_session_factory(engine),
            progress=progress,
        )
    engine.dispose()
    assert result.after_run["in_review"] > 0
    assert result.after_run["open"] == 0
    assert result.decidable_left_in_review == 0
    assert result.after_reconciliation["money_held_in_review"] == 0
    resolved = result.resolved_by_reconciliation
    assert resolved["committed"] + resolved["voided"] == result.after_run["in_review"]
    assert result.bank_paid_twice == 0 and result.ledger_problems == []
