"""A small world for the console's browser tests, seeded in the gateway's own database.

Operators of every role with console passwords, a terminal with its device, a register of
synthetic households imported through the real importer, a registered case worker of the
households' region, a locked-out beneficiary, a suspected duplicate waiting for
adjudication, and a payout wave paid through the payout service against a simulated bank.
"""

from __future__ import annotations

import io
import time
from contextlib import suppress
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from adapters.bank import SimulatedBank
from adapters.base import TransferKind
from adapters.clock import ManualClock
from adapters.faults import Fault, FaultInjector
from adapters.simulated import SimulatedBankAdapter
from gateway.biometrics.models import BiometricTemplate, template_aad
from gateway.console import accounts
from gateway.crypto.envelope import seal
from gateway.db import unit_of_work, utcnow
from gateway.enrollment import repository as enrollment_repository
from gateway.enrollment.models import Adjudication, Enrollment
from gateway.payouts import repository as payout_repository
from gateway.payouts.driver import drive, recover
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.programmes import ProgrammeCatalogue, payment_day
from gateway.payouts.service import NothingDue, PayoutOrder, request_hash, reserve
from gateway.registry import repository as registry_repository
from gateway.registry.importer import import_register
from gateway.registry.models import Household, Person
from gateway.registry.references import new_reference
from gateway.registry.synthetic import write_register_csv
from gateway.terminals import service as terminal_service
from gateway.terminals.keys import encode_public_key
from gateway.terminals.models import OperatorRole
from gateway.verification import repository as verification_repository
from gateway.verification.models import CaseWorker, Lockout
from matcher.fingerprint import storage as finger_storage
from matcher.iris import storage as iris_storage
from matcher.synthetic.iris_codes import capture as iris_capture
from matcher.synthetic.minutiae import impression, master
from tests.gateway.signing import TerminalIdentity, register_terminal

PASSWORD = "kata-sandi-uji-konsol"
OPERATORS = {
    "ops-1": OperatorRole.ops,
    "cw-1": OperatorRole.case_worker,
    "sup-1": OperatorRole.supervisor,
    "aud-1": OperatorRole.auditor,
    "locked-1": OperatorRole.ops,
}
BANK = "BRI"


@dataclass
class ConsoleWorld:
    base_url: str
    factory: sessionmaker[Session]
    catalogue: ProgrammeCatalogue
    terminal: TerminalIdentity
    region: str
    lockout: str
    adjudication: str
    review: str
    households: list[int] = field(default_factory=list)
    paid: set[int] = field(default_factory=set)

    def pay_wave(self, count: int, pause_s: float = 0.3) -> int:
        """Pay `count` households not paid yet, one after the other, as terminals would."""
        bank = SimulatedBank(bank_code=BANK)
        adapter = SimulatedBankAdapter(bank, timeout_s=5.0)
        policy = PayoutPolicy()
        paid = 0
        for household_id in [h for h in self.households if h not in self.paid][:count]:
            creditor = bank.open_account(f"20020{household_id:08d}", "Keluarga Uji")
            payout_id: int | None = None  # stays None when nothing is due to the household
            with unit_of_work(self.factory) as session, suppress(NothingDue):
                facts = payout_repository.household_facts(
                    session, household_id=household_id, day=payment_day(utcnow())
                )
                assert facts is not None
                body = {"token": f"wave-{household_id}", "channel": "account_credit"}
                order = PayoutOrder(
                    terminal_id=self.terminal.id,
                    idempotency_key=f"wave-{household_id}",
                    request_hash=request_hash(body),
                    token_id=body["token"],
                    household=facts,
                    bank_code=BANK,
                    channel=TransferKind.ACCOUNT_CREDIT,
                    creditor=creditor,
                )
                payout_id = reserve(
                    session=session,
                    order=order,
                    catalogue=self.catalogue,
                    now=utcnow(),
                    policy=policy,
                ).payout.id
            if payout_id is None:
                continue
            drive(
                session_factory=self.factory,
                payout_id=payout_id,
                adapters={BANK: adapter},
                clock=utcnow,
                policy=policy,
            )
            self.paid.add(household_id)
            paid += 1
            time.sleep(pause_s)
        return paid


def _stuck_in_review(
    factory: sessionmaker[Session], catalogue: ProgrammeCatalogue, household_id: int
) -> str:
    """A payout whose answer the bank lost and whose status never answers, asked about until
    the query deadline on a clock of its own: it waits for a person's decision."""
    clock = ManualClock(utcnow())
    faults = FaultInjector(seed=7)
    bank = SimulatedBank(bank_code=BANK, clock=clock)
    adapter = SimulatedBankAdapter(bank, faults=faults, timeout_s=5.0, sleep=clock.sleep)
    policy = PayoutPolicy()
    faults.force("submit", Fault.LOST_ANSWER)
    faults.force("status", *[Fault.TIMEOUT] * 1000)
    with unit_of_work(factory) as session:
        facts = payout_repository.household_facts(
            session, household_id=household_id, day=payment_day(clock())
        )
        assert facts is not None
        body = {"token": f"stuck-{household_id}", "channel": "account_credit"}
        reserved = reserve(
            session=session,
            order=PayoutOrder(
                terminal_id="T-3201-0001",
                idempotency_key=f"stuck-{household_id}",
                request_hash=request_hash(body),
                token_id=body["token"],
                household=facts,
                bank_code=BANK,
                channel=TransferKind.ACCOUNT_CREDIT,
                creditor=bank.open_account(f"30030{household_id:08d}", "Keluarga Uji"),
            ),
            catalogue=catalogue,
            now=clock(),
            policy=policy,
        )
        payout_id, reference = reserved.payout.id, reserved.payout.reference
    drive(
        session_factory=factory, payout_id=payout_id, adapters={BANK: adapter}, clock=clock,
        policy=policy,
    )  # fmt: skip
    for _ in range(200):
        clock.advance(policy.max_backoff.total_seconds())
        recover(session_factory=factory, adapters={BANK: adapter}, clock=clock, policy=policy)
        with unit_of_work(factory) as session:
            payout = payout_repository.payout_by_id(session, payout_id)
            assert payout is not None
            if payout.state == "needs_review":
                return reference
    raise AssertionError("the stalled payout never reached review")


def _templates(
    session: Session, *, person_id: int, enrollment_id: int, shot: int, active: bool
) -> None:
    """One impression of the same synthetic finger and one capture of the same synthetic eye,
    sealed as enrolment stores them."""
    iris, _ = iris_capture(9, shot)
    for modality, position, data in (
        ("finger", 2, finger_storage.dumps([impression(master(4242, finger_position=2), shot)])),
        ("iris", 1, iris_storage.to_bytes(iris)),
    ):
        reference = new_reference("tpl")
        aad = template_aad(
            reference=reference, person_id=person_id, modality=modality, position=position
        )
        enrollment_repository.add(
            session,
            BiometricTemplate(
                reference=reference, person_id=person_id, enrollment_id=enrollment_id,
                modality=modality, position=position, quality=60,
                envelope=seal(data, aad=aad), active=active,
            ),
        )  # fmt: skip


def _operators(session: Session) -> None:
    for operator_id, role in OPERATORS.items():
        key = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        terminal_service.register_operator(
            session=session,
            operator_id=operator_id,
            name=f"Operator {operator_id}",
            role=role,
            public_key=encode_public_key(key),
            actor="test",
        )
        accounts.create_account(
            session=session, operator_id=operator_id, password=PASSWORD, language="en"
        )


def _case_worker(session: Session, region: str) -> None:
    """cw-1 as an active case worker of `region`, with one synthetic finger registered."""
    reference = new_reference("cw")
    fingers = [impression(master(77 * 16 + 2, finger_position=2), 1)]
    envelope = seal(
        finger_storage.dumps(fingers), aad=f"case_worker:{reference}:operator=cw-1".encode()
    )
    verification_repository.add_case_worker(
        session,
        CaseWorker(
            reference=reference, operator_id="cw-1", region=region, active=True, envelope=envelope
        ),
    )


def _people(session: Session, household_ids: list[int]) -> list[tuple[Household, Person]]:
    found = []
    for household_id in household_ids:
        household = registry_repository.household_by_id(session, household_id)
        assert household is not None
        found.append((household, registry_repository.people_of_household(session, household_id)[0]))
    return found


def seed(
    *, base_url: str, factory: sessionmaker[Session], catalogue: ProgrammeCatalogue
) -> ConsoleWorld:
    register = io.StringIO()
    write_register_csv(register, households=40, seed=11, today=payment_day(utcnow()))
    import_register(session_factory=factory, source=io.BytesIO(register.getvalue().encode("utf-8")))
    terminal = register_terminal(factory, "T-3201-0001", province_code="32", regency_code="01")
    with unit_of_work(factory) as session:
        _operators(session)
        region = "3201"
        everyone = [h for h in session.query(Household).order_by(Household.id) if not h.graduated]
        local = [h.id for h in everyone if h.province_code + h.regency_code == region][:3]
        _case_worker(session, region)
        (_, locked), (_, newcomer), (candidate_household, candidate) = _people(session, local)
        lockout = Lockout(
            reference=new_reference("lock"),
            person_id=locked.id,
            failures=5,
            scope="home",
            locked_at=utcnow(),
        )
        verification_repository.add_lockout(session, lockout)
        enrollment = Enrollment(
            reference=new_reference("enr"),
            person_id=newcomer.id,
            status="pending_adjudication",
            terminal_id=terminal.id,
        )
        earlier = Enrollment(
            reference=new_reference("enr"), person_id=candidate.id, status="enrolled"
        )
        enrollment_repository.add(session, enrollment)
        enrollment_repository.add(session, earlier)
        enrollment_repository.flush(session)
        _templates(
            session, person_id=newcomer.id, enrollment_id=enrollment.id, shot=2, active=False
        )
        _templates(session, person_id=candidate.id, enrollment_id=earlier.id, shot=1, active=True)
        adjudication = Adjudication(
            reference=new_reference("adj"),
            enrollment_id=enrollment.id,
            candidates=[
                {
                    "person": candidate.reference,
                    "person_id": candidate.id,
                    "household": candidate_household.reference,
                    "score": 61.5,
                    "fmr": 2.0e-7,
                    "modality": "finger",
                }
            ],
        )
        enrollment_repository.add(session, adjudication)
        in_review = next(h.id for h in everyone if h.id not in local)
    review = _stuck_in_review(factory, catalogue, in_review)
    return ConsoleWorld(
        base_url=base_url,
        factory=factory,
        catalogue=catalogue,
        terminal=terminal,
        region=region,
        lockout=lockout.reference,
        adjudication=adjudication.reference,
        review=review,
        households=[h.id for h in everyone if h.id not in local and h.id != in_review],
    )
