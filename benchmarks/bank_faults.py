"""A wave of payouts against a bank that misbehaves the way real ones do, and what is left.

Each scenario pays a wave of households through the service functions the pay endpoint and
the recovery worker use, against a simulated bank injecting its faults (timeouts, lost and
late answers, duplicates, garbled answers; status queries fail the same way), on a manual
clock so hours of retries cost seconds. Then the worker runs until nothing is left to ask
and reconciliation runs on the day's statement and the next business day's. Reported after
the run and after reconciliation: payouts committed, voided, in review, money held in
review, and how many of those in review the bank's own books could still decide (target 0).
States are sampled over time and plotted.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.bank import SimulatedBank
from adapters.base import AccountRef, TransferKind, TransferState
from adapters.clock import ManualClock
from adapters.faults import FaultInjector, FaultProfile
from adapters.simulated import SimulatedBankAdapter
from benchmarks.output import results_dir
from benchmarks.simulation import audit_keys, catalogue, household, wipe
from gateway import migrate
from gateway.db import make_engine, make_session_factory, unit_of_work
from gateway.errors import GatewayError
from gateway.payouts import ledger, reconciliation, repository
from gateway.payouts.driver import drive, recover
from gateway.payouts.models import Payout, PayoutTask
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.programmes import payment_day
from gateway.payouts.review import next_business_day
from gateway.payouts.service import PayoutOrder, request_hash, reserve
from gateway.payouts.states import PayoutState

BANK = "BRI"
# A Friday morning in Jakarta: the next business day's statement is Monday's.
START = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
# How often the recovery worker wakes up (the gateway's default interval).
WORKER_INTERVAL_S = 5.0

# The mix a real bank shows on a bad day: every kind of slow or broken answer.
MISBEHAVING = FaultProfile(
    timeout_rate=0.15,
    lost_answer_rate=0.15,
    late_answer_rate=0.10,
    duplicate_rate=0.10,
    garble_rate=0.10,
    latency_ms=(50.0, 400.0),
    late_delay_s=30.0,
)


@dataclass(frozen=True)
class Scenario:
    profile: FaultProfile
    # How long the worker asks before a person is asked to decide.
    query_deadline: timedelta = PayoutPolicy().query_deadline


# A bank that mostly does not answer at all, and mostly never received the request.
TIMEOUTS = FaultProfile(timeout_rate=0.85, latency_ms=(50.0, 400.0))
SCENARIOS: dict[str, Scenario] = {
    "misbehaving": Scenario(MISBEHAVING),
    "timeouts": Scenario(TIMEOUTS),
    # The same banks with the worker giving up after two minutes: what reaches review then,
    # and what the statements and the bank's status settle without a person.
    "misbehaving-2min": Scenario(MISBEHAVING, query_deadline=timedelta(minutes=2)),
    "timeouts-2min": Scenario(TIMEOUTS, query_deadline=timedelta(minutes=2)),
}


@dataclass
class Snapshot:
    """Where the payouts stand at one moment of the run."""

    minutes: float
    states: dict[str, int]
    held_in_review: int


@dataclass
class WaveResult:
    scenario: str
    payouts: int
    after_run: dict[str, int]
    after_reconciliation: dict[str, int]
    resolved_by_reconciliation: dict[str, int]
    decidable_left_in_review: int
    money_held_decidable: int
    bank_paid_twice: int
    ledger_problems: list[str]
    simulated_hours: float
    timeline: list[Snapshot] = field(default_factory=list)


def _standing(session: Session) -> tuple[dict[str, int], int]:
    payouts = session.scalars(select(Payout)).all()
    states = Counter(p.state for p in payouts)
    held = sum(p.amount for p in payouts if p.state == PayoutState.NEEDS_REVIEW.value)
    return {s.value: states.get(s.value, 0) for s in PayoutState}, held


def _summary(session: Session) -> dict[str, int]:
    states, held = _standing(session)
    return {
        "committed": states["committed"],
        "voided": states["voided"],
        "in_review": states["needs_review"],
        "open": states["reserved"] + states["submitted"],
        "money_held_in_review": held,
    }


def _decidable(session: Session, bank: SimulatedBank) -> tuple[int, int]:
    """Payouts in review that the bank's own books decide (paid with our amount, or never
    received), and the money they hold."""
    count = money = 0
    for payout in repository.payouts_in_review(session, bank_code=BANK):
        transfer = bank.lookup(payout.reference)
        paid = (
            transfer is not None
            and transfer.state is TransferState.SETTLED
            and transfer.request.amount == payout.amount
        )
        if transfer is None or paid:
            count, money = count + 1, money + payout.amount
    return count, money


def _next_due(session: Session) -> datetime | None:
    return session.scalar(select(PayoutTask.leased_until).order_by(PayoutTask.leased_until))


STATEMENT_ATTEMPTS = 20
RECONCILIATION_DAYS = 10


def _reconcile_with_retries(
    factory: sessionmaker[Session],
    adapter: SimulatedBankAdapter,
    day: date,
    clock: ManualClock,
) -> reconciliation.ReconciliationReport:
    """Reconcile `day`, asking again (a minute later) while the statement does not come."""
    for _ in range(STATEMENT_ATTEMPTS - 1):
        try:
            with unit_of_work(factory) as session:
                return reconciliation.reconcile(
                    session=session, adapter=adapter, day=day, resolve_at=clock()
                )
        except reconciliation.StatementUnavailable:
            clock.advance(60)
    with unit_of_work(factory) as session:
        return reconciliation.reconcile(
            session=session, adapter=adapter, day=day, resolve_at=clock()
        )


def run_wave(
    name: str,
    scenario: Scenario,
    *,
    households: int,
    seed: int,
    factory: sessionmaker[Session],
    progress: Progress,
) -> WaveResult:
    rng = random.Random(seed)
    clock = ManualClock(START)
    bank = SimulatedBank(bank_code=BANK, clock=clock, opening_balance=10**12)
    creditor = bank.open_account("3003000000001", "Families")
    adapter = SimulatedBankAdapter(
        bank, faults=FaultInjector(scenario.profile, seed=seed), timeout_s=5.0, sleep=clock.sleep
    )
    adapters = {BANK: adapter}
    policy = PayoutPolicy(query_deadline=scenario.query_deadline)
    cat = catalogue(random.Random(0))
    with unit_of_work(factory) as session:
        for programme in cat.programmes:
            ledger.fund_budget(
                session=session, programme=programme.code, budget=10**11, now=clock()
            )
    timeline: list[Snapshot] = []

    def sample() -> None:
        with unit_of_work(factory) as session:
            states, held = _standing(session)
        minutes = (clock() - START).total_seconds() / 60
        last = timeline[-1] if timeline else None
        if last is not None and (last.states, last.held_in_review) == (states, held):
            return  # a change of state is a point; a quiet pass of the worker is not
        timeline.append(Snapshot(round(minutes, 3), states, held))

    task = progress.add_task(f"{name}: paying", total=households)
    for number in range(1, households + 1):
        clock.advance(rng.uniform(0.0, 2.0))
        token = f"tok-{number}"
        order = PayoutOrder(
            terminal_id=f"T-{number % 20}",
            idempotency_key=f"k-{number}",
            request_hash=request_hash({"token": token}),
            token_id=token,
            household=household(rng, number),
            bank_code=BANK,
            channel=TransferKind.ACCOUNT_CREDIT,
            creditor=AccountRef(BANK, creditor.number, creditor.name),
        )
        try:
            with unit_of_work(factory) as session:
                reserved = reserve(
                    session=session,
                    order=order,
                    catalogue=cat,
                    now=clock(),
                    policy=policy,
                    references=lambda: f"SPW{rng.getrandbits(64):016X}",
                    submit_next=True,
                )
        except GatewayError:
            continue
        drive(
            session_factory=factory,
            payout_id=reserved.payout.id,
            adapters=adapters,
            clock=clock,
            policy=policy,
            just_reserved=reserved.payout,
        )
        if number % 10 == 0:
            recover(session_factory=factory, adapters=adapters, clock=clock, policy=policy)
            sample()
        progress.advance(task)
    progress.update(task, description=f"{name}: the worker asks the bank")
    while True:
        with unit_of_work(factory) as session:
            due = _next_due(session)
        if due is None:
            break
        # The worker wakes every few seconds; nothing happens in between.
        wait = max(WORKER_INTERVAL_S, (due - clock()).total_seconds())
        clock.advance(wait)
        recover(session_factory=factory, adapters=adapters, clock=clock, policy=policy)
        sample()
    with unit_of_work(factory) as session:
        after_run = _summary(session)
    progress.update(task, description=f"{name}: reconciling")
    created = payment_day(START)
    resolved: Counter[str] = Counter()
    # Ops reconcile every business day after the bank's cut-off (asking again for a statement
    # that did not come): the wave's day and the following ones, for two weeks at most, or
    # until nothing the bank's books could decide is left in review.
    day = created
    for _ in range(RECONCILIATION_DAYS):
        cut_off = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=17)
        if clock() < cut_off:
            clock.advance((cut_off - clock()).total_seconds())
        report = _reconcile_with_retries(factory, adapter, day, clock)
        resolved["committed"] += len(report.resolved_committed)
        resolved["voided"] += len(report.resolved_voided)
        resolved["paid_after_void"] += report.count("paid_after_void")
        resolved["days"] += 1
        sample()
        with unit_of_work(factory) as session:
            if day > created and _decidable(session, bank)[0] == 0:
                break
        day = next_business_day(day)
    with unit_of_work(factory) as session:
        after = _summary(session)
        decidable, money = _decidable(session, bank)
        problems = ledger.audit_ledger(session=session)
        references = list(session.scalars(select(Payout.reference)))
    twice = sum(1 for reference in references if bank.bookings(reference) > 1)
    return WaveResult(
        scenario=name,
        payouts=len(references),
        after_run=after_run,
        after_reconciliation=after,
        resolved_by_reconciliation=dict(resolved),
        decidable_left_in_review=decidable,
        money_held_decidable=money,
        bank_paid_twice=twice,
        ledger_problems=problems,
        simulated_hours=round((clock() - START).total_seconds() / 3600, 2),
        timeline=timeline,
    )


def plot_states(results: list[WaveResult], path: Path) -> Path:
    """Payouts per state over (simulated) time, one panel per scenario."""
    columns = min(2, len(results))
    rows = -(-len(results) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.4 * columns, 4.4 * rows), squeeze=False)
    for ax in axes.flat[len(results) :]:
        ax.set_visible(False)
    for ax, result in zip(axes.flat, results, strict=False):
        minutes = [max(s.minutes, 0.01) for s in result.timeline]
        for state in ("committed", "voided", "needs_review", "submitted", "reserved"):
            ax.plot(
                minutes,
                [s.states[state] for s in result.timeline],
                label=state,
                drawstyle="steps-post",
            )
        ax.set_xscale("log")
        ax.set(
            xlabel="simulated minutes since the wave began (log)",
            ylabel="payouts",
            title=f"{result.scenario}: {result.payouts} payouts",
        )
        ax.grid(True, alpha=0.3)
        ax.legend(loc="center left", fontsize="small")
    fig.suptitle("Payout states under bank faults: run, worker retries, then reconciliation")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def bank_faults_command(
    households: int = typer.Option(160, help="Households paid in each wave."),
    seed: int = typer.Option(1, help="Seed of the families, the interleaving and the faults."),
    scenario: list[str] = typer.Option(
        list(SCENARIOS), help=f"Scenarios to run ({', '.join(SCENARIOS)})."
    ),
    json_file: Path = typer.Option(None, "--json", help="Also write the results here."),
) -> None:
    """Pay waves through a misbehaving simulated bank; report what is left in review."""
    unknown = set(scenario) - set(SCENARIOS)
    if unknown:
        raise typer.BadParameter(f"unknown scenario(s) {sorted(unknown)}", param_hint="--scenario")
    console = Console(width=150)
    started = time.perf_counter()
    results: list[WaveResult] = []
    with tempfile.TemporaryDirectory(prefix="satupintu-faults-") as tmp, audit_keys(Path(tmp)):
        engine = make_engine(f"sqlite:///{tmp}/faults.db")
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        with Progress(console=console) as progress:
            for name in scenario:
                wipe(engine)
                results.append(
                    run_wave(
                        name,
                        SCENARIOS[name],
                        households=households,
                        seed=seed,
                        factory=factory,
                        progress=progress,
                    )
                )
        engine.dispose()
    table = Table(title="Payouts under bank faults (after the run → after reconciliation)")
    for column in (
        "scenario",
        "payouts",
        "committed",
        "voided",
        "in review",
        "Rp in review",
        "decidable left",
        "paid twice",
    ):
        table.add_column(column, justify="right")
    for r in results:
        a, b = r.after_run, r.after_reconciliation
        table.add_row(
            r.scenario,
            str(r.payouts),
            f"{a['committed']} → {b['committed']}",
            f"{a['voided']} → {b['voided']}",
            f"{a['in_review']} → {b['in_review']}",
            f"{a['money_held_in_review']:,} → {b['money_held_in_review']:,}",
            str(r.decidable_left_in_review),
            str(r.bank_paid_twice),
        )
    console.print(table)
    out_dir = results_dir()
    plot = plot_states(results, out_dir / "bank_faults_states.png")
    payload = {
        "benchmark": "bank_faults",
        "households": households,
        "seed": seed,
        "scenarios": {
            name: {
                **asdict(SCENARIOS[name].profile),
                "query_deadline_s": SCENARIOS[name].query_deadline.total_seconds(),
            }
            for name in scenario
        },
        "results": [{k: v for k, v in asdict(r).items() if k != "timeline"} for r in results],
        "timelines": {r.scenario: [asdict(s) for s in r.timeline] for r in results},
        "plot": str(plot),
        "seconds": round(time.perf_counter() - started, 1),
    }
    text = json.dumps(payload, indent=2, default=str)
    (out_dir / "bank_faults.json").write_text(text)
    if json_file is not None:
        json_file.write_text(text)
    console.print(f"plot: {plot}")
    failed = any(
        r.decidable_left_in_review or r.bank_paid_twice or r.ledger_problems for r in results
    )
    if failed:
        raise typer.Exit(code=1)
