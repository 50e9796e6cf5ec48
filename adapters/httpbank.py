"""Plumbing shared by the HTTP adapters: one httpx client, the retry policy, giving up, health.

Both the ISO 20022 and the SNAP adapter retry transport errors and 5xx answers with the same
reference under one `RetryPolicy`, and both turn exhausted retries into `OutcomeUnknown`; the
wire formats differ, the retry discipline must not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import httpx

from adapters.base import Clock, HealthReport, OutcomeUnknown, utc_now
from adapters.retry import GaveUp, Retryable, RetryPolicy

T = TypeVar("T")


class HttpBankClient:
    """Base of an HTTP `BankAdapter`; subclasses provide `bank_code` and the five operations."""

    def __init__(
        self,
        *,
        base_url: str,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 3,
        backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock = utc_now,
    ) -> None:
        self.retry_policy = RetryPolicy(attempts=max_attempts, backoff_s=backoff_s)
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)),
        )

    @property
    def bank_code(self) -> str:
        raise NotImplementedError

    @property
    def longest_call_s(self) -> float:
        """Every attempt run to its timeout, with the pauses between them."""
        pauses = sum(
            self._backoff_s * 2 ** (attempt - 1) for attempt in range(1, self.max_attempts)
        )
        return self.max_attempts * self.timeout_s + pauses

    @property
    def honours_expiry(self) -> bool:
        """Neither HTTP rail's message carries an expiry the bank is bound to honour."""
        return False

    def close(self) -> None:
        self._http.close()

    def _with_retries(self, reference: str, attempt: Callable[[], T]) -> T:
        """`attempt` under the retry policy; exhausted retries leave the outcome unknown."""
        try:
            return self.retry_policy.run(attempt, bank=self.bank_code, sleep=self._sleep)
        except GaveUp as exc:
            raise OutcomeUnknown(
                f"no answer from {self.bank_code} about {reference} after "
                f"{exc.attempts} attempts ({exc.failure})",
                reference=reference,
            ) from exc

    @staticmethod
    def _sent(request: Callable[[], httpx.Response]) -> httpx.Response:
        """One HTTP exchange; a transport error or a 5xx answer is worth another attempt."""
        try:
            response = request()
        except httpx.TransportError as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise Retryable(f"HTTP {response.status_code}")
        return response

    def health(self) -> HealthReport:
        started = time.perf_counter()
        try:
            response = self._http.get("/healthz")
        except httpx.TransportError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return HealthReport(False, self.bank_code, elapsed, f"unreachable: {exc}")
        elapsed = (time.perf_counter() - started) * 1000
        return HealthReport(
            response.status_code == 200, self.bank_code, elapsed, f"HTTP {response.status_code}"
        )
