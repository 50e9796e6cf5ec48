"""Statement against ledger: every kind of difference becomes its own finding with the amounts
and state it rests on, the report counts them, and the files written say the same."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path

from adapters.base import EntryDirection, Statement, StatementEntry
from gateway.payouts.models import Payout
from gateway.payouts.reconciliation import (
    Finding,
    ReconciliationReport,
    bank_day_window,
    compare,
    write_report,
)

DAY = date(2026, 3, 2)
BOOKED = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


def _payout(
    reference: str, amount: int, state: str = "committed", failure: str | None = None
) -> Payout:
    return Payout(reference=reference, amount=amount, state=state, failure_code=failure)


def _debit(reference: str, amount: int, *, reversal_of: str | None = None) -> StatementEntry:
    return StatementEntry(reference, amount, EntryDirection.DEBIT, BOOKED, reversal_of=reversal_of)


def _statement(*entries: StatementEntry) -> Statement:
    return Statement("ACC", DAY, 1_000_000, 1_000_000, tuple(entries), statement_id="S-1")


def test_every_difference_is_its_own_finding() -> None:
    payouts = {
        "P-OK": _payout("P-OK", 300_000),
        "P-AMT": _payout("P-AMT", 300_000),
        "P-HELD": _payout("P-HELD", 200_000, state="in_review"),
        "P-VOID": _payout("P-VOID", 150_000, failure="paid_after_void"),
    }
    day_payouts = [*payouts.values(), _payout("P-GONE", 100_000), _payout("P-OPEN", 5, "sent")]
    statement = _statement(
        _debit("P-OK", 300_000),
        _debit("P-AMT", 250_000),
        _debit("P-HELD", 200_000),
        _debit("P-VOID", 150_000),
        _debit("P-NONE", 70_000),
        StatementEntry("P-BACK", 40_000, EntryDirection.CREDIT, BOOKED),
        _debit("P-REV", 10_000, reversal_of="P-OK"),
    )
    findings = compare(statement=statement, payouts_by_reference=payouts, day_payouts=day_payouts)
    assert findings == [
        Finding("matched", "P-OK", 300_000, 300_000, "committed"),
        Finding("amount_mismatch", "P-AMT", 300_000, 250_000, "committed"),
        Finding(
            "missing_in_ledger", "P-HELD", 200_000, 200_000, "in_review",
            "the bank booked a payout the ledger has not committed",
        ),
        Finding(
            "paid_after_void", "P-VOID", 150_000, 150_000, "committed",
            "critical: paid by the bank after the gateway voided it; booked",
        ),
        Finding("missing_in_ledger", "P-NONE", None, 70_000, None, "unknown reference"),
        Finding("reversal", "P-BACK", None, 40_000, None, "credit or return"),
        Finding("reversal", "P-REV", None, 10_000, None, "credit or return"),
        Finding(
            "missing_in_bank", "P-GONE", 100_000, None, "committed",
            "committed in the ledger, absent from the statement",
        ),
    ]  # fmt: skip


def test_a_reversal_entry_does_not_count_as_the_payout_seen() -> None:
    """A return of a payout is not its booking: the committed payout is still missing."""
    payouts = {"P-1": _payout("P-1", 100)}
    findings = compare(
        statement=_statement(_debit("P-1", 100, reversal_of="P-0")),
        payouts_by_reference=payouts,
        day_payouts=list(payouts.values()),
    )
    assert [f.outcome for f in findings] == ["reversal", "missing_in_bank"]


def _report(*findings: Finding, balanced: bool = True) -> ReconciliationReport:
    return ReconciliationReport(
        "BNI", DAY, "S-1", balanced, list(findings), ["P-A"], ["P-B", "P-C"]
    )


def test_the_report_counts_each_outcome_and_is_clean_only_when_nothing_differs() -> None:
    matched = Finding("matched", "P-1", 1, 1, "committed")
    reversal = Finding("reversal", "P-2", None, 1, None)
    mismatch = Finding("amount_mismatch", "P-3", 2, 1, "committed")
    assert _report(matched, reversal).clean
    assert not _report(matched, reversal, balanced=False).clean
    assert not _report(matched, mismatch).clean
    summary = _report(matched, matched, mismatch, reversal).summary()
    assert summary == {
        "bank": "BNI",
        "day": "2026-03-02",
        "statement_id": "S-1",
        "statement_balanced": True,
        "clean": False,
        "matched": 2,
        "amount_mismatch": 1,
        "missing_in_ledger": 0,
        "missing_in_bank": 0,
        "reversal": 1,
        "paid_after_void": 0,
        "resolved_committed": 1,
        "resolved_voided": 2,
    }


def test_the_bank_day_is_a_day_of_payment_time() -> None:
    start, end = bank_day_window(DAY)
    assert start == datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    assert (end - start).total_seconds() == 86_400


def test_the_files_hold_every_finding_and_the_summary(tmp_path: Path) -> None:
    report = _report(
        Finding("matched", "P-1", 5, 5, "committed"),
        Finding("missing_in_ledger", "P-9", None, 7, None, "unknown reference"),
    )
    csv_path, json_path = write_report(report, tmp_path / "out")
    assert csv_path.name == "reconciliation-BNI-2026-03-02.csv"
    assert json_path.name == "reconciliation-BNI-2026-03-02.json"
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {"outcome": "matched", "reference": "P-1", "ledger_amount": "5", "bank_amount": "5",
         "ledger_state": "committed", "detail": ""},
        {"outcome": "missing_in_ledger", "reference": "P-9", "ledger_amount": "",
         "bank_amount": "7", "ledger_state": "", "detail": "unknown reference"},
    ]  # fmt: skip
    written = json.loads(json_path.read_text(encoding="utf-8"))
    assert written["summary"] == report.summary()
    assert written["findings"][1] == {
        "outcome": "missing_in_ledger", "reference": "P-9", "ledger_amount": None,
        "bank_amount": 7, "ledger_state": None, "detail": "unknown reference",
    }  # fmt: skip
