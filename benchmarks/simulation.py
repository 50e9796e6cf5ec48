"""A deterministic simulation of payouts: one seed fixes the families, the bank's faults, the
interleaving of terminals, where the gateway "crashes", and every clock tick.

Concurrency is simulated by interleaving the steps of many payouts in a seeded order on one
thread, so a failing seed replays exactly; real threads against PostgreSQL are tested apart.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from adapters.bank import SimulatedBank
from adapters.base import (
    AccountRef,
    BankAdapter,
    TransferKind,
    TransferRequest,
    TransferResult,
    TransferState,
)
from adapters.clock import ManualClock
from adapters.faults import FaultInjector, FaultProfile
from adapters.simulated import SimulatedBankAdapter
from benchmarks.output import results_dir
from gateway import migrate
from gateway.audit.models import AuditEntry
from gateway.audit.service import verify_chain
from gateway.crypto.keyring import KeyRing, KeyStore, install_key_store
from gateway.db import make_engine, make_session_factory, unit_of_work
from gateway.errors import GatewayError
from gateway.models import Base
from gateway.payouts import ledger, reconciliation
from gateway.payouts.driver import drive, recover
from gateway.payouts.entitlements import HouseholdFacts, MemberFacts
from gateway.payouts.models import Payout, PayoutLine, PayoutTask
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.programmes import ProgrammeCatalogue, parse_catalogue, payment_day
from gateway.payouts.review import next_business_day
from gateway.payouts.service import PayoutOrder, request_hash, reserve
from gateway.payouts.states import FINAL_STATES, PayoutState

BANK = "BRI"
START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


class Crash(Exception):
    """The gateway process dies here; whatever was committed stays, nothing else happens."""


class CrashingAdapter:
    """Wraps the bank adapter to kill the gateway just before or just after the bank acts, or
    to stall a worker in the middle of its submit while `meanwhile` (another worker) runs."""

    def __init__(self, inner: SimulatedBankAdapter) -> None:
        self.inner = inner
        self.crash_before = False
        self.crash_after = False
        self.meanwhile: Callable[[], None] | None = None

    @property
    def bank_code(self) -> str:
        return self.inner.bank_code

    def submit(self, transfer: TransferRequest) -> TransferResult:
        if self.crash_before:
            raise Crash("before submit")
        if self.meanwhile is not None:
            # The request is on its way (delayed, or its worker paused) past the lease.
            stalled, self.meanwhile = self.meanwhile, None
            stalled()
        result = self.inner.submit(transfer)
        if self.crash_after:
            raise Crash("after submit, answer never recorded")
        return result

    def status(self, reference: str, *, expected_amount: int | None = None) -> TransferResult:
        return self.inner.status(reference, expected_amount=expected_amount)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def catalogue(rng: random.Random) -> ProgrammeCatalogue:
    budget = rng.choice([1_500_000, 4_000_000, 50_000_000])
    return parse_catalogue(
        {
            "programmes": [
                {
                    "code": "PKH",
                    "name": "sim",
                    "cluster": "social_protection",
                    "period": "quarterly",
                    "budget": budget,
                    "max_counted_members": 2,
                    "components": [
                        {"code": "elderly", "per": "person", "stage": "elderly", "amount": 600_000},
                        {
                            "code": "child",
                            "per": "person",
                            "stage": "early_childhood",
                            "amount": 750_000,
                        },
                    ],
                },
                {
                    "code": "SEMBAKO",
                    "name": "sim",
                    "cluster": "social_protection",
                    "period": "monthly",
                    "budget": budget,
                    "components": [{"code": "food", "per": "household", "amount": 200_000}],
                },
            ]
        }
    )


def household(rng: random.Random, household_id: int) -> HouseholdFacts:
    members = tuple(
        MemberFacts(
            household_id * 100 + i,
            rng.choice([date(1950, 1, 1), date(2023, 6, 1), date(1990, 1, 1)]),
        )
        for i in range(rng.randint(1, 4))
    )
    return HouseholdFacts(household_id, "3201", False, members, frozenset({"PKH", "SEMBAKO"}))


@dataclass
class Outcome:
    seed: int
    payouts: int = 0
    states: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    stalls: int = 0
    # Payouts the first bank call did not decide (the worker had to ask again).
    retried: int = 0
    # Of those, the ones that ended paid or voided without a person (worker or statement).
    resolved_without_a_human: int = 0
    resolved_by_reconciliation: int = 0
    problems: list[str] = field(default_factory=list)


def run_scenario(seed: int, factory: sessionmaker[Session]) -> Outcome:
    rng = random.Random(seed)
    outcome = Outcome(seed)
    clock = ManualClock(START)
    bank = SimulatedBank(
        bank_code=BANK, clock=clock, opening_balance=rng.choice([2_000_000, 10**10])
    )
    creditor = bank.open_account("3003000000001", "Family")
    profile = FaultProfile(
        decline_rate=rng.choice([0, 0.1]),
        timeout_rate=rng.choice([0, 0.15]),
        lost_answer_rate=rng.choice([0, 0.15]),
        late_answer_rate=rng.choice([0, 0.1]),
        duplicate_rate=rng.choice([0, 0.1]),
        garble_rate=rng.choice([0, 0.05, 0.2]),
        latency_ms=(0.0, rng.choice([10.0, 8000.0])),
        # Some settle after the hold has passed.
        late_delay_s=rng.choice([20.0, 900.0]),
    )
    inner = SimulatedBankAdapter(
        bank, faults=FaultInjector(profile, seed=seed), timeout_s=5.0, sleep=clock.sleep
    )
    adapter = CrashingAdapter(inner)
    adapters: dict[str, BankAdapter] = {BANK: adapter}  # type: ignore[dict-item]
    policy = PayoutPolicy()
    cat = catalogue(rng)
    with unit_of_work(factory) as session:
        for programme in cat.programmes:
            ledger.fund_budget(
                session=session, programme=programme.code, budget=programme.budget, now=clock()
            )
    families = [household(rng, i + 1) for i in range(rng.randint(1, 4))]
    requests: list[PayoutOrder] = []
    for family in families:
        for attempt in range(rng.randint(1, 3)):
            # Half the attempts are retries of the first key; the rest are new verifications.
            key = "k0" if rng.random() < 0.5 else f"k{attempt}"
            token = f"tok-{family.household_id}-{key}"
            body = {"token": token, "channel": "account_credit"}
            requests.append(
                PayoutOrder(
                    terminal_id=f"T-{family.household_id}",
                    idempotency_key=key,
                    request_hash=request_hash(body),
                    token_id=token,
                    household=family,
                    bank_code=BANK,
                    channel=TransferKind.ACCOUNT_CREDIT,
                    creditor=AccountRef(BANK, creditor.number, creditor.name),
                )
            )
    rng.shuffle(requests)
    retried: set[int] = set()

    def recover_pass() -> None:
        retried.update(
            recover(session_factory=factory, adapters=adapters, clock=clock, policy=policy)
        )

    for order in requests:
        clock.advance(rng.uniform(0, 20))
        # Half the payouts go as the pay endpoint sends them: recorded as submitted by the
        # reservation itself, then straight to the bank.
        submit_next = rng.random() < 0.5
        try:
            with unit_of_work(factory) as session:
                reserved = reserve(
                    session=session,
                    order=order,
                    catalogue=cat,
                    now=clock(),
                    policy=policy,
                    references=lambda: f"SIM{seed:06d}-{rng.getrandbits(48):012X}",
                    submit_next=submit_next,
                )
        except GatewayError:
            continue
        payout_id = reserved.payout.id
        crash = rng.choice(
            ["none", "none", "after_reserve", "before_submit", "after_submit", "stall"]
        )
        if crash == "after_reserve":
            outcome.crashes += 1
            continue
        if crash == "stall":
            outcome.stalls += 1
            # Past the lease only, or past the hold too: another worker takes the payout
            # over, asks the bank and acts while this send is still on its way.
            stall = rng.choice([policy.lease, policy.hold + policy.lease]).total_seconds()

            def second_worker(seconds: float = stall + rng.uniform(1, 60)) -> None:
                clock.advance(seconds)
                recover_pass()

            adapter.meanwhile = second_worker
        adapter.crash_before, adapter.crash_after = (
            crash == "before_submit",
            crash == "after_submit",
        )
        try:
            drive(
                session_factory=factory,
                payout_id=payout_id,
                adapters=adapters,
                clock=clock,
                policy=policy,
                just_reserved=reserved.payout if submit_next and reserved.fresh else None,
            )
        except Crash:
            outcome.crashes += 1
        finally:
            adapter.crash_before = adapter.crash_after = False
            adapter.meanwhile = None
        if rng.random() < 0.3:
            recover_pass()
    for _ in range(5000):
        with unit_of_work(factory) as session:
            due = session.scalar(select(func.min(PayoutTask.leased_until)))
        if due is None:
            break
        clock.advance(max(rng.uniform(5, 120), (due - clock()).total_seconds()))
        recover_pass()
    reconcile_days(outcome, factory, inner, clock)
    outcome.retried = len(retried)
    with unit_of_work(factory) as session:
        outcome.resolved_without_a_human = sum(
            1
            for payout_id in retried
            if (p := session.get(Payout, payout_id)) is not None
            and p.state in (PayoutState.COMMITTED, PayoutState.VOIDED)
        )
    check_invariants(outcome, factory, bank, clock)
    return outcome


def reconcile_days(
    outcome: Outcome, factory: sessionmaker[Session], adapter: BankAdapter, clock: ManualClock
) -> None:
    """Ops reconcile the payment day and the next business day after the bank's cut-off;
    what the statements and the bank's status prove is settled without a person."""
    day = payment_day(START)
    for _ in range(2):
        cut_off = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
        clock.advance(max(0.0, (cut_off - clock()).total_seconds()))
        for _attempt in range(20):
            try:
                with unit_of_work(factory) as session:
                    report = reconciliation.reconcile(
                        session=session, adapter=adapter, day=day, resolve_at=clock()
                    )
            except reconciliation.StatementUnavailable:
                clock.advance(60)
                continue
            outcome.resolved_by_reconciliation += len(report.resolved_committed) + len(
                report.resolved_voided
            )
            break
        day = next_business_day(day)


def check_invariants(
    outcome: Outcome, factory: sessionmaker[Session], bank: SimulatedBank, clock: ManualClock
) -> None:
    problems = outcome.problems
    with unit_of_work(factory) as session:
        payouts = {p.reference: p for p in session.scalars(select(Payout))}
        lines_by_payout: dict[int, list[PayoutLine]] = defaultdict(list)
        for line in session.scalars(select(PayoutLine)):
            lines_by_payout[line.payout_id].append(line)
        outcome.payouts = len(payouts)
        outcome.states.update(p.state for p in payouts.values())
        for reference, payout in payouts.items():
            if payout.state not in FINAL_STATES:
                problems.append(f"{reference} left in state {payout.state}")
            transfer = bank.lookup(reference)
            decidable = transfer is None or (
                transfer.state is TransferState.SETTLED and transfer.request.amount == payout.amount
            )
            if payout.state == PayoutState.NEEDS_REVIEW and decidable:
                problems.append(f"{reference} left in review though the bank's books decide it")
        problems.extend(ledger.audit_ledger(session=session))
        chain = verify_chain(session=session)
        if not chain.ok:
            problems.append(f"audit chain broken at {chain.broken_seq}: {chain.reason}")
        audited = set(session.scalars(select(AuditEntry.subject)))
        problems.extend(
            f"{reference} {payout.state} without an audit entry"
            for reference, payout in payouts.items()
            if f"payout:{reference}" not in audited
        )
        auditor = SimulatedBankAdapter(bank, sleep=clock.sleep)
        day = payment_day(START)
        entries = [e for d in (day, next_business_day(day)) for e in auditor.statement(d).entries]
        report = reconciliation.reconcile(session=session, adapter=auditor, day=day)
    paid_keys: Counter[tuple[str, str, str, str]] = Counter()
    for entry in entries:
        booked = payouts.get(entry.reference)
        if booked is None:
            continue
        for line in lines_by_payout[booked.id]:
            paid_keys[(line.programme, line.component, line.subject, line.period)] += 1
    problems.extend(f"entitlement {key} paid {n} times" for key, n in paid_keys.items() if n > 1)
    for finding in report.findings:
        if finding.outcome in ("matched", "reversal"):
            continue
        found = payouts.get(finding.reference)
        flagged = found is not None and found.state == "needs_review"
        if finding.outcome != "missing_in_ledger" or not flagged:
            problems.append(f"reconciliation: {finding}")


@contextmanager
def audit_keys(directory: Path) -> Iterator[KeyStore]:
    """A fresh key ring for the run: every payout decision is chained into the audit log."""
    store = KeyStore(path=directory / "keyring.json", env_value=None)
    store.save(KeyRing.generate())
    previous = install_key_store(store)
    try:
        yield store
    finally:
        install_key_store(previous)


def wipe(engine: Engine) -> None:
    """Empty every table between scenarios (cheaper than migrating a fresh database)."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def simulate_command(
    scenarios: int = typer.Option(2000, help="How many seeds to run (0, 1, 2, ...)."),
    first_seed: int = typer.Option(0, help="The first seed."),
    json_file: Path = typer.Option(None, "--json", help="Also write the results here."),
) -> None:
    """Run thousands of seeded payout scenarios under faults and crashes; check every invariant."""
    console = Console(width=150)
    started = time.perf_counter()
    states: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    payouts = 0
    failures: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="satupintu-dst-") as tmp, audit_keys(Path(tmp)):
        engine = make_engine(f"sqlite:///{tmp}/dst.db")
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        with Progress(console=console) as progress:
            task = progress.add_task("scenarios", total=scenarios)
            for seed in range(first_seed, first_seed + scenarios):
                wipe(engine)
                outcome = run_scenario(seed, factory)
                states.update(outcome.states)
                counts.update(
                    crashes=outcome.crashes,
                    stalls=outcome.stalls,
                    retried=outcome.retried,
                    resolved_without_a_human=outcome.resolved_without_a_human,
                    resolved_by_reconciliation=outcome.resolved_by_reconciliation,
                )
                payouts += outcome.payouts
                if outcome.problems:
                    failures.append({"seed": seed, "problems": outcome.problems[:5]})
                progress.advance(task)
        engine.dispose()
    result = {
        "benchmark": "payout_simulation",
        "scenarios": scenarios,
        "first_seed": first_seed,
        "payouts": payouts,
        "states": dict(states),
        "crashes": counts["crashes"],
        "stalls_past_lease": counts["stalls"],
        "retried": counts["retried"],
        "resolved_without_a_human": counts["resolved_without_a_human"],
        "resolved_by_reconciliation": counts["resolved_by_reconciliation"],
        "violations": len(failures),
        "failing_seeds": failures[:20],
        "seconds": round(time.perf_counter() - started, 1),
    }
    table = Table(title="Deterministic payout simulation")
    for column in (
        "scenarios",
        "payouts",
        "committed",
        "voided",
        "needs_review",
        "crashes",
        "stalls",
        "retried",
        "resolved w/o human",
        "violations",
        "s",
    ):
        table.add_column(column, justify="right")
    table.add_row(
        str(scenarios),
        str(payouts),
        str(states["committed"]),
        str(states["voided"]),
        str(states["needs_review"]),
        str(counts["crashes"]),
        str(counts["stalls"]),
        str(counts["retried"]),
        str(counts["resolved_without_a_human"]),
        str(len(failures)),
        str(result["seconds"]),
    )
    console.print(table)
    for failure in failures[:5]:
        console.print(f"[red]seed {failure['seed']}[/red]: {failure['problems']}")
    text = json.dumps(result, indent=2)
    (results_dir() / "payout_simulation.json").write_text(text)
    if json_file is not None:
        json_file.write_text(text)
    if failures:
        raise typer.Exit(code=1)
