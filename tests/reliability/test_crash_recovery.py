"""`kill -9` of a real gateway process in the middle of a payout wave, on PostgreSQL.

The bank is a separate process (the ISO 20022 simulated bank server), so it survives the
crash the way a real bank would. After the restart, terminals retry with the same
Idempotency-Key, the recovery worker finishes what was in flight, and every invariant holds:
each family paid exactly once at the bank, every payout final, the ledger sound, and the
bank's statement reconciled with the ledger.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import date
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, text

from adapters.iso20022.client import create as iso_adapter
from gateway.client import RequestSigner, SignatureAuth
from gateway.crypto.keyring import KeyStore, install_key_store
from gateway.db import make_engine, make_session_factory, unit_of_work, utcnow
from gateway.payouts import ledger, reconciliation, repository
from gateway.payouts.models import Payout
from gateway.payouts.programmes import payment_day
from gateway.registry.models import Household, Person, ProgrammeMembership
from gateway.settings import Settings
from gateway.terminals import service as terminals
from gateway.terminals.keys import encode_public_key
from gateway.verification.tokens import issue_token

from ..conftest import _postgres_url

FAMILIES = 30
SATUPINTU = str(Path(sys.executable).with_name("satupintu"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not come up")


@pytest.fixture
def database_url() -> Iterator[str]:
    url, reason = _postgres_url()
    if url is None:
        pytest.skip(reason)
    schema = f"crash_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{url}?options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every process the test starts, terminated at teardown whatever happened."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.postgres
def test_kill_9_mid_wave_pays_every_family_exactly_once(
    database_url: str, tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    bank_port, gateway_port = _free_port(), _free_port()
    bank = subprocess.Popen(
        [SATUPINTU, "bank-sim", "serve", "--port", str(bank_port), "--bank-code", "BRI",
         "--accounts", "3", "--latency-ms", "40", "--key-dir", str(tmp_path / "bank")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    spawned.append(bank)
    banks_file = tmp_path / "banks.toml"
    banks_file.write_text(
        f'[banks.BRI]\nadapter = "iso20022"\nbase_url = "http://127.0.0.1:{bank_port}"\n'
        'settlement_account = "1001000000001"\ntimeout_s = 1.0\nmax_attempts = 2\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "SATUPINTU_DATABASE_URL": database_url,
        "SATUPINTU_DATA_DIR": str(tmp_path / "var"),
        "SATUPINTU_BANKS_FILE": str(banks_file),
        "SATUPINTU_PORT": str(gateway_port),
        # Just over the adapter's longest call (2 x 1 s + pause + margin): shorter is refused.
        "SATUPINTU_PAYOUT_LEASE_SECONDS": "5",
        "SATUPINTU_PAYOUT_RECOVERY_INTERVAL_SECONDS": "0.5",
        "SATUPINTU_LOG_LEVEL": "WARNING",
        # One terminal retries the whole wave; its per-terminal rate limit is not under test.
        "SATUPINTU_TERMINAL_RATE_PER_MINUTE": "100000",
        "SATUPINTU_TERMINAL_BURST": "100000",
    }
    base = f"http://127.0.0.1:{gateway_port}"

    log_file = tmp_path / "gateway.log"

    def start_gateway() -> subprocess.Popen[bytes]:
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                [SATUPINTU, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        spawned.append(process)
        try:
            _wait_until_up(f"{base}/healthz", process)
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}: {log_file.read_text()[-3000:]}") from None
        return process

    gateway = start_gateway()
    engine = make_engine(database_url)
    previous_keys = install_key_store(
        KeyStore.from_settings(Settings(data_dir=tmp_path / "var", database_url=database_url))
    )
    try:
        _wait_until_up(f"http://127.0.0.1:{bank_port}/healthz", bank)
        factory = make_session_factory(engine)
        key = Ed25519PrivateKey.generate()
        tokens: list[str] = []
        with unit_of_work(factory) as session:
            terminals.register_terminal(
                session=session, terminal_id="T-CRASH", agent_name="Agen", bank_code="BRI",
                province_code="32", regency_code="01", actor="test",
                public_key=encode_public_key(key.public_key().public_bytes_raw()),
            )  # fmt: skip
            repository.set_payout_account(
                session, owner_kind="terminal", owner_id="T-CRASH", bank_code="BRI",
                number="2002000000001", name="Agen",
            )  # fmt: skip
            for i in range(FAMILIES):
                household = Household(
                    reference=f"HH-C-{i}", family_card_number=f"32010199{i:08d}",
                    province_code="32", regency_code="01", district_code="01",
                )  # fmt: skip
                session.add(household)
                session.flush()
                person = Person(
                    reference=f"P-C-{i}", household_id=household.id, nik_ciphertext=b"-",
                    nik_hash=uuid.uuid4().bytes * 2, name="Lansia", birth_date=date(1950, 1, 1),
                    sex="F", relation="head",
                )  # fmt: skip
                session.add(person)
                session.add(
                    ProgrammeMembership(household_id=household.id, programme_code="SEMBAKO")
                )
                session.flush()
                tokens.append(
                    issue_token(
                        session=session, person_id=person.id, household_id=household.id,
                        person_reference=person.reference, household_reference=household.reference,
                        terminal_id="T-CRASH", request_digest="0" * 64, ttl_seconds=900,
                    ).token
                )  # fmt: skip
        client = httpx.Client(
            base_url=base,
            auth=SignatureAuth(RequestSigner(key_id="T-CRASH", private_key=key)),
            timeout=10,
        )

        def pay(i: int) -> str | None:
            try:
                response = client.post(
                    "/v1/payouts",
                    json={"token": tokens[i]},
                    headers={"Idempotency-Key": f"wave-{i:04d}"},
                )
            except httpx.HTTPError:
                return None
            return str(response.json().get("state")) if response.status_code in (200, 202) else None

        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(pay, i) for i in range(FAMILIES)]
            # Killed once the wave is under way (the first answer is in), not after a fixed
            # delay: on a fast machine the whole wave could finish before one.
            wait(futures, return_when=FIRST_COMPLETED)
            gateway.send_signal(signal.SIGKILL)
            gateway.wait()
            first = [f.result() for f in futures]
        assert None in first, "the crash happened after the wave; nothing was interrupted"

        gateway = start_gateway()
        deadline = time.monotonic() + 90
        states: list[str | None] = []
        while time.monotonic() < deadline:
            states = [pay(i) for i in range(FAMILIES)]
            if all(s in ("committed", "voided", "needs_review") for s in states):
                break
            time.sleep(1)
        assert all(s == "committed" for s in states), states

        with unit_of_work(factory) as session:
            payouts = session.scalars(select(Payout)).all()
            assert len(payouts) == FAMILIES
            assert len({p.household_id for p in payouts}) == FAMILIES
            assert ledger.audit_ledger(session=session) == []
            adapter = iso_adapter(
                {"base_url": f"http://127.0.0.1:{bank_port}", "bank_code": "BRI",
                 "settlement_account": "1001000000001"}
            )  # fmt: skip
            report = reconciliation.reconcile(
                session=session, adapter=adapter, day=payment_day(utcnow())
            )
        assert report.count("matched") == FAMILIES, report.summary()
        assert report.clean, [f for f in report.findings if f.outcome != "matched"]
    finally:
        install_key_store(previous_keys)
        engine.dispose()
