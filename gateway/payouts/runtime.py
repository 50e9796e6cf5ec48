"""What the payout routes and the recovery worker share for the life of the process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from adapters.base import BankAdapter
from gateway.payouts.programmes import ProgrammeCatalogue
from gateway.payouts.service import Clock, PayoutPolicy, recover

log = logging.getLogger("gateway.payouts.worker")


@dataclass
class PayoutRuntime:
    session_factory: sessionmaker[Session]
    catalogue: ProgrammeCatalogue
    adapters: Mapping[str, BankAdapter]
    policy: PayoutPolicy
    clock: Clock
    _stop: threading.Event = field(default_factory=threading.Event)
    _worker: threading.Thread | None = None

    def recover_once(self) -> list[int]:
        return recover(
            session_factory=self.session_factory,
            adapters=self.adapters,
            clock=self.clock,
            policy=self.policy,
        )

    def start_worker(self, interval_s: float) -> None:
        """Finish payouts left behind by crashes and lost answers, every `interval_s` seconds."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.recover_once()
                except Exception:
                    log.exception("payout recovery pass failed; retrying next interval")

        self._worker = threading.Thread(target=loop, name="payout-recovery", daemon=True)
        self._worker.start()

    def stop_worker(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=10)


def get_runtime(request: Request) -> PayoutRuntime:
    runtime: PayoutRuntime = request.app.state.payouts
    return runtime


PayoutRuntimeDep = Annotated[PayoutRuntime, Depends(get_runtime)]
