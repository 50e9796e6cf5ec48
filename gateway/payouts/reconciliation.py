"""Match a bank's end-of-day statement (camt.053 through the adapter) against the ledger."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from adapters.base import BankAdapter, BankAdapterError, EntryDirection, Statement
from gateway.errors import Unavailable
from gateway.payouts import repository, review
from gateway.payouts.models import Payout
from gateway.payouts.monitoring import PAID_AFTER_VOID
from gateway.payouts.programmes import PAYMENT_ZONE


@dataclass(frozen=True)
class Finding:
    """One row of the report: what was compared and how it came out."""

    # matched | amount_mismatch | missing_in_ledger | missing_in_bank | reversal |
    # paid_after_void (critical: the bank paid a payout the gateway had voided)
    outcome: str
    reference: str
    ledger_amount: int | None
    bank_amount: int | None
    ledger_state: str | None
    detail: str = ""


@dataclass
class ReconciliationReport:
    bank_code: str
    day: date
    statement_id: str
    statement_balanced: bool
    findings: list[Finding] = field(default_factory=list)
    # Payouts this statement settled without a person, by reference.
    resolved_committed: list[str] = field(default_factory=list)
    resolved_voided: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for f in self.findings if f.outcome == outcome)

    @property
    def clean(self) -> bool:
        return self.statement_balanced and all(
            f.outcome in ("matched", "reversal") for f in self.findings
        )

    def summary(self) -> dict[str, object]:
        outcomes = (
            "matched",
            "amount_mismatch",
            "missing_in_ledger",
            "missing_in_bank",
            "reversal",
            "paid_after_void",
        )
        return {
            "bank": self.bank_code,
            "day": self.day.isoformat(),
            "statement_id": self.statement_id,
            "statement_balanced": self.statement_balanced,
            "clean": self.clean,
            **{outcome: self.count(outcome) for outcome in outcomes},
            "resolved_committed": len(self.resolved_committed),
            "resolved_voided": len(self.resolved_voided),
        }


def bank_day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=PAYMENT_ZONE)
    return start, start + timedelta(days=1)


def compare(
    *, statement: Statement, payouts_by_reference: dict[str, Payout], day_payouts: list[Payout]
) -> list[Finding]:
    """Pure comparison of statement entries and payouts; every difference becomes a finding."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for entry in statement.entries:
        if entry.reversal_of is not None or entry.direction is EntryDirection.CREDIT:
            findings.append(
                Finding("reversal", entry.reference, None, entry.amount, None, "credit or return")
            )
            continue
        seen.add(entry.reference)
        payout = payouts_by_reference.get(entry.reference)
        if payout is None:
            findings.append(
                Finding(
                    "missing_in_ledger",
                    entry.reference,
                    None,
                    entry.amount,
                    None,
                    "unknown reference",
                )
            )
        elif payout.state != "committed":
            findings.append(
                Finding(
                    "missing_in_ledger",
                    entry.reference,
                    payout.amount,
                    entry.amount,
                    payout.state,
                    "the bank booked a payout the ledger has not committed",
                )
            )
        elif payout.failure_code == PAID_AFTER_VOID:
            findings.append(
                Finding(
                    PAID_AFTER_VOID,
                    entry.reference,
                    payout.amount,
                    entry.amount,
                    payout.state,
                    "critical: paid by the bank after the gateway voided it; booked",
                )
            )
        elif payout.amount != entry.amount:
            findings.append(
                Finding(
                    "amount_mismatch", entry.reference, payout.amount, entry.amount, payout.state
                )
            )
        else:
            findings.append(
                Finding("matched", entry.reference, payout.amount, entry.amount, payout.state)
            )
    for payout in day_payouts:
        if payout.state == "committed" and payout.reference not in seen:
            findings.append(
                Finding(
                    "missing_in_bank",
                    payout.reference,
                    payout.amount,
                    None,
                    payout.state,
                    "committed in the ledger, absent from the statement",
                )
            )
    return findings


class StatementUnavailable(Unavailable):
    code = "statement_unavailable"


# Times an earlier day's statement is asked for (one document per run, so it is cheap to
# insist) before the payouts that need it wait for the next run.
STATEMENT_ATTEMPTS = 20


def reconcile(
    *,
    session: Session,
    adapter: BankAdapter,
    day: date,
    resolve_at: datetime | None = None,
) -> ReconciliationReport:
    """Compare the day's statement with the ledger; with `resolve_at` (now), first settle
    what the statement and the bank's status prove (see `gateway.payouts.review`)."""
    try:
        statement = adapter.statement(day)
    except BankAdapterError as exc:
        raise StatementUnavailable(
            f"The bank's statement for {day.isoformat()} could not be fetched ({exc.code})."
        ) from exc
    resolved = review.Resolutions()
    if resolve_at is not None:
        fetched: dict[date, Statement | None] = {day: statement}

        def statement_of(other: date) -> Statement | None:
            """Another day's statement, asked for a few times; None when it does not come."""
            if other not in fetched:
                fetched[other] = None
                for _ in range(STATEMENT_ATTEMPTS):
                    try:
                        fetched[other] = adapter.statement(other)
                        break
                    except BankAdapterError:
                        continue
            return fetched[other]

        resolved = review.resolve_from_statement(
            session=session,
            adapter=adapter,
            statement=statement,
            statements=statement_of,
            now=resolve_at,
        )
        session.flush()
    start, end = bank_day_window(day)
    day_payouts = list(
        repository.payouts_for_bank_day(session, bank_code=adapter.bank_code, start=start, end=end)
    )
    by_reference = {p.reference: p for p in day_payouts}
    for entry in statement.entries:
        if entry.reference not in by_reference:
            found = repository.payout_by_reference(session, entry.reference)
            if found is not None:
                by_reference[found.reference] = found
    return ReconciliationReport(
        bank_code=adapter.bank_code,
        day=day,
        statement_id=statement.statement_id,
        statement_balanced=statement.is_balanced(),
        findings=compare(
            statement=statement, payouts_by_reference=by_reference, day_payouts=day_payouts
        ),
        resolved_committed=resolved.committed,
        resolved_voided=resolved.voided,
    )


def write_report(report: ReconciliationReport, directory: Path) -> tuple[Path, Path]:
    """Write the findings as CSV (for spreadsheets) and JSON (for machines)."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"reconciliation-{report.bank_code}-{report.day.isoformat()}"
    csv_path, json_path = directory / f"{stem}.csv", directory / f"{stem}.json"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(Finding.__dataclass_fields__))
        writer.writeheader()
        for finding in report.findings:
            writer.writerow(asdict(finding))
    json_path.write_text(
        json.dumps(
            {"summary": report.summary(), "findings": [asdict(f) for f in report.findings]},
            indent=2,
        ),
        encoding="utf-8",
    )
    return csv_path, json_path


def read_reports(directory: Path, *, limit: int) -> list[dict[str, object]]:
    """The latest reports `write_report` left in `directory`, newest first (unreadable ones
    skipped: a report being written is read at the next look)."""
    paths = sorted(
        directory.glob("reconciliation-*.json"), key=lambda p: p.stat().st_mtime, reverse=True
    )
    reports: list[dict[str, object]] = []
    for path in paths[:limit]:
        try:
            reports.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return reports
