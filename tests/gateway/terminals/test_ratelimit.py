"""Token buckets: bursts pass, sustained floods are refused, time refills."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gateway.terminals import ratelimit
from gateway.terminals.ratelimit import RateLimited, TokenBucketLimiter
from tests.gateway.signing import SignedClient


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refusal_then_refill() -> None:
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=3, scope="terminal", clock=clock)
    for _ in range(3):
        limiter.hit("T-1")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("T-1")
    assert refused.value.details["retry_after_s"] == 1
    limiter.hit("T-2")  # buckets are per key
    clock.now = 1.0
    limiter.hit("T-1")
    with pytest.raises(RateLimited):
        limiter.hit("T-1")


def test_terminal_flood_gets_429(
    gateway_app: FastAPI, api: TestClient, terminal_client: SignedClient
) -> None:
    gateway_app.state.terminal_rate_limiter = TokenBucketLimiter(
        rate_per_minute=1, burst=2, scope="terminal"
    )
    codes = [terminal_client.get("/v1/terminals/me").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_idle_buckets_are_dropped_when_too_many_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_MAX_KEYS", 3)
    clock = FakeClock()
    limiter = TokenBucketLimiter(rate_per_minute=60, burst=2, scope="person", clock=clock)
    for key in ("a", "b", "c"):
        limiter.hit(key)
    clock.now = 10.0  # every bucket has refilled: forgetting them changes nothing
    limiter.hit("d")
    assert set(limiter._buckets) == {"d"}
