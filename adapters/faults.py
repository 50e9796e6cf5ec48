"""Deterministic fault injection between a gateway and a simulated bank.

Every decision is drawn from a generator seeded by (seed, operation, reference, attempt), never
from a shared stream, so a scenario replays identically whatever order threads run in: a failing
seed printed by a simulation test reproduces the failure exactly.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from enum import StrEnum


class Fault(StrEnum):
    """What happens to one request on its way to the bank and back."""

    NONE = "none"
    DECLINE = "decline"  # the bank refuses (system decline); definitely failed
    TIMEOUT = "timeout"  # the request never reaches the bank; nothing booked
    LOST_ANSWER = "lost_answer"  # the bank books it, the answer is lost on the way back
    LATE_ANSWER = "late_answer"  # the bank accepts, settles later; the answer misses the timeout
    DUPLICATE = "duplicate"  # the request is delivered twice; the bank must book it once
    MALFORMED = "malformed"  # the answer arrives garbled (bad XML / JSON)
    UNKNOWN_STATUS = "unknown_status"  # the answer carries a status code nobody defined
    WRONG_REFERENCE = "wrong_reference"  # the answer speaks of a reference never sent
    WRONG_AMOUNT = "wrong_amount"  # the answer carries a different amount


GARBLING = (Fault.MALFORMED, Fault.UNKNOWN_STATUS, Fault.WRONG_REFERENCE, Fault.WRONG_AMOUNT)
# Faults that make sense per operation; the others are drawn only for submissions.
_QUERY_FAULTS = frozenset({Fault.NONE, Fault.TIMEOUT, Fault.LOST_ANSWER, *GARBLING})


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """Rates (0..1) of each fault per request, and the latency range the bank answers in."""

    decline_rate: float = 0.0
    timeout_rate: float = 0.0
    lost_answer_rate: float = 0.0
    late_answer_rate: float = 0.0
    duplicate_rate: float = 0.0
    garble_rate: float = 0.0
    latency_ms: tuple[float, float] = (0.0, 0.0)
    # A late answer settles this long after acceptance (well past any client timeout).
    late_delay_s: float = 30.0

    def __post_init__(self) -> None:
        rates = (
            self.decline_rate,
            self.timeout_rate,
            self.lost_answer_rate,
            self.late_answer_rate,
            self.duplicate_rate,
            self.garble_rate,
        )
        if any(r < 0 for r in rates) or sum(rates) > 1:
            raise ValueError("fault rates must be non-negative and sum to at most 1")
        low, high = self.latency_ms
        if not 0 <= low <= high:
            raise ValueError("latency_ms must be an ordered pair of non-negative numbers")


class FaultInjector:
    """Decides each request's fault and latency; tests can also force the next faults."""

    def __init__(self, profile: FaultProfile | None = None, *, seed: int = 0) -> None:
        self.profile = profile or FaultProfile()
        self.seed = seed
        self._attempts: dict[tuple[str, str], int] = defaultdict(int)
        self._forced: dict[str, deque[Fault]] = defaultdict(deque)
        self._lock = threading.Lock()

    def force(self, operation: str, *faults: Fault) -> None:
        """Queue faults for the next requests of `operation` ("submit", "status", ...)."""
        with self._lock:
            self._forced[operation].extend(faults)

    def clear(self, operation: str) -> None:
        """Drop the faults still queued for `operation`: its next requests draw as usual."""
        with self._lock:
            self._forced[operation].clear()

    def decide(self, operation: str, reference: str) -> tuple[Fault, float]:
        """The fault and the latency (seconds) for this attempt of `operation` on `reference`."""
        with self._lock:
            attempt = self._attempts[(operation, reference)]
            self._attempts[(operation, reference)] = attempt + 1
            forced = self._forced[operation].popleft() if self._forced[operation] else None
        rng = random.Random(f"{self.seed}|{operation}|{reference}|{attempt}")
        latency = rng.uniform(*self.profile.latency_ms) / 1000.0
        if forced is not None:
            return forced, latency
        fault = self._draw(rng)
        if operation != "submit" and fault not in _QUERY_FAULTS:
            fault = Fault.NONE
        return fault, latency

    def _draw(self, rng: random.Random) -> Fault:
        p = self.profile
        u = rng.random()
        for fault, rate in (
            (Fault.DECLINE, p.decline_rate),
            (Fault.TIMEOUT, p.timeout_rate),
            (Fault.LOST_ANSWER, p.lost_answer_rate),
            (Fault.LATE_ANSWER, p.late_answer_rate),
            (Fault.DUPLICATE, p.duplicate_rate),
        ):
            if u < rate:
                return fault
            u -= rate
        if u < p.garble_rate:
            return rng.choice(GARBLING)
        return Fault.NONE
