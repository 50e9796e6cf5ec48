"""This process's reservations of request nonces, taken the moment a signature verifies.

The database's seen-nonce table is the authority across processes and restarts, but it is
written in the route's own transaction, after the work. Until then a copied request would
cost the terminal's rate-limit budget and a full biometric comparison before being refused;
reserving its (keyid, nonce) here first, and checking the table for one already committed,
refuses a replay before anything else is spent on it.
"""

from __future__ import annotations

import threading
import time

# Reservations are swept on one call in this many, so the map stays the size of the window.
_SWEEP_EVERY = 512


class NonceReservations:
    """(keyid, nonce) pairs seen by this process, each kept until its signature expires."""

    def __init__(self) -> None:
        self._expiry: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def reserve(self, keyid: str, nonce: str, *, expires_at: float) -> bool:
        """True for the first caller with this pair, False for every later copy."""
        now = time.time()
        with self._lock:
            self._calls += 1
            if self._calls % _SWEEP_EVERY == 0:
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
            previous = self._expiry.get((keyid, nonce))
            if previous is not None and previous > now:
                return False
            self._expiry[(keyid, nonce)] = expires_at
            return True
