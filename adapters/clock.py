"""A manual clock, so banks, clients and tests share one notion of time and never really sleep."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class ManualClock:
    """A clock that moves only when told; `sleep` advances it instead of blocking.

    Injected wherever latency, timeouts, retries or late settlements involve time, so a test
    can exercise a five-second timeout in microseconds and replay it exactly.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        self.advance(max(seconds, 0.0))
