"""Conformance targets for the three adapters, each wired to the same kind of simulated bank."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.bank import SimulatedBank
from adapters.base import AccountRef
from adapters.clock import ManualClock
from adapters.conformance import ConformanceTarget
from adapters.faults import FaultInjector
from adapters.iso20022.client import Iso20022Adapter
from adapters.iso20022.server import create_bank_app
from adapters.simulated import SimulatedBankAdapter
from adapters.snap.client import SnapAdapter
from adapters.snap.server import SnapPartner, create_snap_app
from adapters.transport import InProcessTransport

SETTLEMENT = "1001000000001"
FOREIGN = AccountRef("BNINIDJA", "4004000000001", "Agen Makmur")


@pytest.fixture(scope="session")
def snap_key() -> rsa.RSAPrivateKey:
    """One RSA key per run: generating 2048-bit keys per test would cost seconds."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def bank(clock: ManualClock) -> SimulatedBank:
    return SimulatedBank(settlement_account=SETTLEMENT, clock=clock)


@pytest.fixture
def faults() -> FaultInjector:
    return FaultInjector(seed=20260105)


def _target(
    adapter: object, bank: SimulatedBank, faults: FaultInjector, clock: ManualClock, attempts: int
) -> ConformanceTarget:
    creditor = bank.open_account("2002000000001", "Ibu Sari")
    return ConformanceTarget(
        adapter=adapter,  # type: ignore[arg-type]
        bank=bank,
        faults=faults,
        clock=clock,
        creditor=creditor,
        foreign_creditor=FOREIGN,
        attempts=attempts,
    )


@pytest.fixture
def simulated_target(
    bank: SimulatedBank, faults: FaultInjector, clock: ManualClock
) -> ConformanceTarget:
    adapter = SimulatedBankAdapter(bank, faults=faults, timeout_s=5.0, sleep=clock.sleep)
    return _target(adapter, bank, faults, clock, attempts=1)


@pytest.fixture
def iso_target(
    bank: SimulatedBank, faults: FaultInjector, clock: ManualClock
) -> Iterator[ConformanceTarget]:
    app = create_bank_app(bank, faults=faults, sleep=clock.sleep)
    adapter = Iso20022Adapter(
        base_url="http://bank.test",
        settlement_account=AccountRef(bank.bank_code, SETTLEMENT, "Satu Pintu"),
        transport=InProcessTransport(app),
        sleep=clock.sleep,
        clock=clock,
    )
    yield _target(adapter, bank, faults, clock, attempts=adapter.max_attempts)
    adapter.close()


@pytest.fixture
def snap_partner(snap_key: rsa.RSAPrivateKey) -> SnapPartner:
    return SnapPartner("SATUPINTU01", snap_key.public_key(), "hmac-secret-for-tests")


@pytest.fixture
def snap_target(
    bank: SimulatedBank,
    faults: FaultInjector,
    clock: ManualClock,
    snap_key: rsa.RSAPrivateKey,
    snap_partner: SnapPartner,
) -> Iterator[ConformanceTarget]:
    app = create_snap_app(bank, snap_partner, faults=faults, sleep=clock.sleep)
    adapter = SnapAdapter(
        base_url="http://snap.bank.test",
        source_account=AccountRef(bank.bank_code, SETTLEMENT),
        client_id=snap_partner.client_id,
        private_key=snap_key,
        client_secret=snap_partner.client_secret,
        transport=InProcessTransport(app),
        sleep=clock.sleep,
        clock=clock,
    )
    yield _target(adapter, bank, faults, clock, attempts=adapter.max_attempts)
    adapter.close()


@pytest.fixture
def iso_schemas(shared_dir: Path) -> Path:
    """The official ISO 20022 XSDs under ../shared; tests using them skip where absent."""
    schemas = shared_dir / "schemas" / "iso20022"
    if not schemas.is_dir():
        pytest.skip(f"ISO 20022 schemas not present at {schemas}")
    return schemas
