"""The household notification outbox and the adapter that sends it.

A change to who a person is must reach the household even when the change is fraudulent: an
outbox row is written in the same transaction as the change, and a notification adapter (SMS
in a deployment; here one that writes a structured log line) sends it afterwards. A sender
that fails leaves the row for the next round.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from gateway.db import unit_of_work, utcnow
from gateway.trust import repository
from gateway.trust.models import NotificationEvent

log = logging.getLogger("gateway.trust.notifications")


class NotificationSender(Protocol):
    """Delivers one event to the household (SMS, letter, app push); raises on failure."""

    def send(self, event: NotificationEvent) -> None: ...


class LogSender:
    """Writes each event as a structured log line (references only, never a NIK)."""

    def send(self, event: NotificationEvent) -> None:
        log.info(
            "household notified",
            extra={"household_id": event.household_id, "kind": event.kind, **event.payload},
        )


def notify(session: Session, *, household_id: int, kind: str, payload: dict[str, Any]) -> None:
    """Queue a notification in the caller's transaction."""
    repository.add(
        session, NotificationEvent(household_id=household_id, kind=kind, payload=payload)
    )


def deliver(
    session_factory: sessionmaker[Session], sender: NotificationSender, *, limit: int = 100
) -> int:
    """Send what is queued; the number sent (failures stay queued, their attempts counted)."""
    sent = 0
    with unit_of_work(session_factory) as session:
        for event in repository.unsent_notifications(session, limit=limit):
            event.attempts += 1
            try:
                sender.send(event)
            except Exception:
                log.exception("notification not sent", extra={"event": event.id})
                continue
            event.sent_at = utcnow()
            sent += 1
    return sent


class NotificationWorker:
    """Sends the outbox every `interval_s` seconds on a thread of its own until stopped."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sender: NotificationSender,
        interval_s: float,
    ) -> None:
        self.session_factory = session_factory
        self.sender = sender
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                try:
                    deliver(self.session_factory, self.sender)
                except Exception:
                    log.exception("notification pass failed; retrying next interval")

        self._thread = threading.Thread(target=loop, name="notifications", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
