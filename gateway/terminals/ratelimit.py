"""In-process token buckets, one per key (terminal id, person reference).

Limitation: buckets live in one process, so N gateway processes allow up to N times the
configured rate. That bounds abuse well enough for per-terminal fairness; a shared limit
would need the database or Redis on every request, which costs more than it saves here.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from gateway.errors import TooManyRequests

# Above this many tracked keys, idle (full) buckets are dropped so memory stays bounded.
_MAX_KEYS = 100_000


class RateLimited(TooManyRequests):
    code = "rate_limited"


class TokenBucketLimiter:
    """`rate_per_minute` sustained, `burst` at once; `hit()` raises when the bucket is empty."""

    def __init__(
        self,
        *,
        rate_per_minute: float,
        burst: int,
        scope: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = rate_per_minute / 60.0
        self.burst = float(burst)
        self.scope = scope
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, cost: float = 1.0) -> None:
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate_per_s)
            if tokens < cost:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((cost - tokens) / self.rate_per_s)
                raise RateLimited(
                    f"Too many requests for this {self.scope}; retry later.",
                    retry_after_s=wait,
                )
            self._buckets[key] = (tokens - cost, now)
            if len(self._buckets) > _MAX_KEYS:
                self._prune(now)

    def _prune(self, now: float) -> None:
        refill_s = self.burst / self.rate_per_s
        idle = [k for k, (_, last) in self._buckets.items() if now - last >= refill_s]
        for key in idle:
            del self._buckets[key]
