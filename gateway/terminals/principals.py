"""What this process last saw of terminals and capture devices: keys and status by id.

Checking a request's signature and opening its sealed captures need the terminal's and the
devices' public keys before the request's transaction begins (the CPU-heavy work runs with no
transaction open). They come from here; the route then confirms, inside its one transaction,
that the key and status it used are still the database's (`SignedTerminalRequest.confirm`,
`gateway.biometrics.sealed.CachedDevices.check`), so a revocation by any process is honoured by the
next request. Nothing here is ever trusted on its own.
"""

from __future__ import annotations

import threading
from typing import Any, Generic, TypeVar

from sqlalchemy import Row

from gateway.terminals.repository import DeviceKeyRow

# Rows are small; past this many ids the cache starts over rather than tracking recency.
_MAX_ROWS = 100_000


T = TypeVar("T")


class RowCache(Generic[T]):
    """A bounded, thread-safe map from an id to the last row read for it."""

    def __init__(self, capacity: int = _MAX_ROWS) -> None:
        self.capacity = capacity
        self._rows: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        return self._rows.get(key)

    def put(self, key: str, row: T) -> None:
        with self._lock:
            if len(self._rows) >= self.capacity and key not in self._rows:
                self._rows.clear()
            self._rows[key] = row


class PrincipalCache:
    """Terminal rows (key, status, attributes) and capture-device rows, per process."""

    def __init__(self) -> None:
        self.terminals: RowCache[Row[Any]] = RowCache()
        self.devices: RowCache[DeviceKeyRow] = RowCache()
