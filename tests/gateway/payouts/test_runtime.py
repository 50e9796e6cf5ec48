"""The payout recovery worker lives exactly as long as the app that started it.

A worker left running after its app stopped keeps driving payouts in whatever database it was
given, with its own bank adapters and the real clock: that is how a CI run once saw a
simulated payout "voided but booked" (a stray worker found the payout unknown to its own
simulated bank and past its hold by the wall clock). These tests pin the lifetime down; the
autouse fixture in tests/conftest.py checks it after every test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gateway import app as app_module
from gateway.db import unit_of_work, utcnow
from gateway.payouts import ledger
from gateway.payouts.policy import PayoutPolicy
from gateway.payouts.programmes import EXAMPLE_CONFIG, ProgrammeCatalogue, load_catalogue
from gateway.payouts.runtime import WORKER_THREAD_NAME, PayoutRuntime


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER_THREAD_NAME and t.is_alive()]


def test_the_worker_runs_with_the_app_and_is_joined_when_it_stops(
    app_factory: Callable[..., FastAPI],
) -> None:
    app = app_factory(payout_recovery_interval_seconds=0.01)
    with TestClient(app):
        assert len(_workers()) == 1
    assert _workers() == []


def test_a_second_lifespan_of_the_same_app_stops_only_its_own_worker(
    app_factory: Callable[..., FastAPI],
) -> None:
    # schemathesis' ASGI loader enters the app's lifespan again while the test client holds
    # it: each exit must stop the worker its own start began, not the one app.state names.
    app = app_factory(payout_recovery_interval_seconds=0.01)
    with TestClient(app):
        with TestClient(app):
            assert len(_workers()) == 2
        assert len(_workers()) == 1
    assert _workers() == []


def test_a_failed_start_up_stops_the_worker_it_started(
    app_factory: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_start(*_args: object) -> None:
        raise RuntimeError("index snapshot unreadable")

    # The identity part starts after the payout worker: its failure must not leave it running.
    monkeypatch.setattr(app_module.indexes, "start", broken_start)
    with pytest.raises(RuntimeError, match="snapshot"), TestClient(app_factory()):
        pass
    assert _workers() == []


def test_stopping_waits_for_the_pass_in_progress(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = PayoutRuntime(
        session_factory=session_factory,
        catalogue=ProgrammeCatalogue(programmes=(), exclusive=()),
        adapters={},
        policy=PayoutPolicy(lease=timedelta(seconds=1)),
        clock=utcnow,
    )
    inside, release = threading.Event(), threading.Event()
    passes: list[str] = []

    def slow_pass() -> list[int]:
        inside.set()
        release.wait(5)
        passes.append("finished")
        return []

    monkeypatch.setattr(runtime, "recover_once", slow_pass)
    runtime.start_worker(0.001)
    assert inside.wait(5)
    threading.Timer(0.2, release.set).start()
    runtime.stop_worker()
    # stop_worker returned only once the pass had finished and the thread had ended.
    assert passes == ["finished"]
    assert _workers() == []


def test_a_budget_below_its_spending_suspends_the_programme_not_the_gateway(
    app_factory: Callable[..., FastAPI], session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    programmes = tmp_path / "programmes.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    programmes.write_text(text, encoding="utf-8")
    catalogue = load_catalogue(programmes)
    code = catalogue.programmes[0].code
    with TestClient(app_factory(programmes_file=programmes)):
        pass
    with unit_of_work(session_factory) as session:
        # Spend all but 1,000 of it, then configure a budget below what is spent.
        spent = catalogue.programmes[0].budget - 1_000
        ledger.book(
            session=session,
            moves=[
                ledger.Move(
                    "posted", ledger.budget_account(code), "payable:household:1", spent, "spent"
                )
            ],
            now=utcnow(),
        )
    lowered = text.replace(
        f"budget = {catalogue.programmes[0].budget:_}", f"budget = {spent // 2}", 1
    )
    assert lowered != text
    programmes.write_text(lowered, encoding="utf-8")
    with TestClient(app_factory(programmes_file=programmes)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert code in ready.json()["suspended_programmes"]
        metrics = client.get("/metrics").text
        assert f'satupintu_programme_suspended{{programme="{code}"}} 1.0' in metrics
        runtime: PayoutRuntime = client.app.state.payouts  # type: ignore[attr-defined]
        assert "below" in runtime.suspended[code]
