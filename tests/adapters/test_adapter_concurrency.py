"""Concurrent submissions of one reference book it once, through every adapter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.base import TransferRequest
from adapters.conformance import ConformanceTarget


@pytest.mark.parametrize("name", ["simulated_target", "iso_target", "snap_target"])
def test_same_reference_from_many_threads_books_once(
    name: str, request: pytest.FixtureRequest
) -> None:
    target: ConformanceTarget = request.getfixturevalue(name)
    transfer = TransferRequest("RACE-1", 600_000, target.creditor)
    others = [TransferRequest(f"RACE-{i}", 1_000 + i, target.creditor) for i in range(2, 18)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        same = list(pool.map(lambda _: target.adapter.submit(transfer), range(16)))
        different = list(pool.map(target.adapter.submit, others))
    assert {r.bank_reference for r in same} == {same[0].bank_reference}
    assert target.bank.bookings("RACE-1") == 1
    assert sorted(r.amount or 0 for r in different) == [t.amount for t in others]
    assert all(target.bank.bookings(t.reference) == 1 for t in others)
    assert target.bank.ledger_sum() == 0
