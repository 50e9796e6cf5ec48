"""What the payout routes and the recovery worker share for the life of the process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from adapters.base import BankAdapter
from gateway.payouts.driver import recover
from gateway.payouts.ledger import KnownAccounts
from gateway.payouts.policy import Clock, PayoutPolicy
from gateway.payouts.programmes import ProgrammeCatalogue
from gateway.trust.anomalies import AnomalyPolicy

log = logging.getLogger("gateway.payouts.worker")

# The recovery thread's name: tests check that none outlives the app that started it.
WORKER_THREAD_NAME = "payout-recovery"
# How long stopping waits for a pass in progress (a bank call bounded by its own timeout).
STOP_TIMEOUT_S = 30.0


@dataclass
class PayoutRuntime:
    session_factory: sessionmaker[Session]
    catalogue: ProgrammeCatalogue
    adapters: Mapping[str, BankAdapter]
    policy: PayoutPolicy
    clock: Clock
    # Ledger account ids seen committed; this runtime's database only (one per process).
    known_accounts: KnownAccounts = field(default_factory=KnownAccounts)
    # When out-of-region payouts by one terminal raise an alert (`gateway.trust.anomalies`).
    anomaly: AnomalyPolicy = field(default_factory=AnomalyPolicy)
    # Programmes that may not reserve now, with the reason (a budget below its spending).
    suspended: dict[str, str] = field(default_factory=dict)
    # Undone when the runtime stops (metrics registered for it, say).
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _worker: threading.Thread | None = None

    def recover_once(self) -> list[int]:
        return recover(
            session_factory=self.session_factory,
            adapters=self.adapters,
            clock=self.clock,
            policy=self.policy,
            stopping=self._stop.is_set,
        )

    def start_worker(self, interval_s: float) -> None:
        """Finish payouts left behind by crashes and lost answers, every `interval_s` seconds."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.recover_once()
                except Exception:
                    log.exception("payout recovery pass failed; retrying next interval")

        self._worker = threading.Thread(target=loop, name=WORKER_THREAD_NAME, daemon=True)
        self._worker.start()

    def stop_worker(self) -> None:
        """Stop and join the worker: one left running would drive payouts for a dead app.

        A pass in progress ends after the payout it is driving (each bank call has its own
        timeout), so the join normally returns within one bank call.
        """
        self._stop.set()
        while self.on_stop:
            self.on_stop.pop()()
        worker, self._worker = self._worker, None
        if worker is None:
            return
        worker.join(timeout=STOP_TIMEOUT_S)
        if worker.is_alive():
            log.error("payout recovery worker did not stop within %.0f s", STOP_TIMEOUT_S)


async def get_runtime(request: Request) -> PayoutRuntime:
    runtime: PayoutRuntime = request.app.state.payouts
    return runtime


PayoutRuntimeDep = Annotated[PayoutRuntime, Depends(get_runtime)]
