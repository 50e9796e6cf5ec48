"""Fixtures for the money half: a funded catalogue, a simulated bank on a manual clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker

from adapters.bank import SimulatedBank
from adapters.base import AccountRef, TransferKind
from adapters.clock import ManualClock
from adapters.faults import FaultInjector
from adapters.simulated import SimulatedBankAdapter
from gateway.crypto.keyring import KeyStore
from gateway.db import unit_of_work
from gateway.payouts import ledger
from gateway.payouts.entitlements import HouseholdFacts, MemberFacts
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.programmes import ProgrammeCatalogue, parse_catalogue
from gateway.payouts.service import PayoutOrder, request_hash

BANK = "BRINIDJA"


def small_catalogue(budget: int = 10_000_000) -> ProgrammeCatalogue:
    return parse_catalogue(
        {
            "programmes": [
                {
                    "code": "PKH",
                    "name": "test cash transfer",
                    "cluster": "social_protection",
                    "period": "quarterly",
                    "budget": budget,
                    "components": [
                        {"code": "elderly", "per": "person", "stage": "elderly", "amount": 600_000},
                        {
                            "code": "early_childhood",
                            "per": "person",
                            "stage": "early_childhood",
                            "amount": 750_000,
                        },
                    ],
                },
                {
                    "code": "SEMBAKO",
                    "name": "test food",
                    "cluster": "social_protection",
                    "period": "monthly",
                    "budget": budget,
                    "components": [{"code": "food", "per": "household", "amount": 200_000}],
                },
            ]
        }
    )


def family(household_id: int) -> HouseholdFacts:
    return HouseholdFacts(
        household_id=household_id,
        region_code="3201",
        graduated=False,
        members=(
            MemberFacts(household_id * 10 + 1, date(1950, 3, 3)),
            MemberFacts(household_id * 10 + 2, date(2023, 3, 3)),
        ),
        memberships=frozenset({"PKH", "SEMBAKO"}),
    )


@dataclass
class Rig:
    """Everything a payout test drives: database, bank, clock, catalogue and policy."""

    factory: sessionmaker[Session]
    bank: SimulatedBank
    adapter: SimulatedBankAdapter
    faults: FaultInjector
    clock: ManualClock
    catalogue: ProgrammeCatalogue
    policy: PayoutPolicy
    creditor: AccountRef

    def order(self, household_id: int, key: str = "k1", token: str | None = None) -> PayoutOrder:
        body = {"token": token or f"tok-{household_id}-{key}", "channel": "account_credit"}
        return PayoutOrder(
            terminal_id="T-1",
            idempotency_key=key,
            request_hash=request_hash(body),
            token_id=str(body["token"]),
            household=family(household_id),
            bank_code=BANK,
            channel=TransferKind.ACCOUNT_CREDIT,
            creditor=self.creditor,
        )


@pytest.fixture
def rig(session_factory: sessionmaker[Session], key_store: KeyStore) -> Rig:
    clock = ManualClock(datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    bank = SimulatedBank(bank_code=BANK, clock=clock)
    creditor = bank.open_account("2002000000001", "Keluarga Uji")
    faults = FaultInjector(seed=7)
    adapter = SimulatedBankAdapter(bank, faults=faults, timeout_s=5.0, sleep=clock.sleep)
    catalogue = small_catalogue()
    with unit_of_work(session_factory) as session:
        for programme in catalogue.programmes:
            ledger.fund_budget(
                session=session, programme=programme.code, budget=programme.budget, now=clock()
            )
    return Rig(session_factory, bank, adapter, faults, clock, catalogue, PayoutPolicy(), creditor)
