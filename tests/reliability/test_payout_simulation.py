"""Deterministic simulation of payouts under bank faults and gateway crashes.

`SATUPINTU_DST_SCENARIOS` sets how many seeds run (default 300 here; thousands in the
reliability benchmark); `SATUPINTU_DST_SEED` replays one seed.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from benchmarks.simulation import run_scenario, wipe


def _seeds() -> list[int]:
    if "SATUPINTU_DST_SEED" in os.environ:
        return [int(os.environ["SATUPINTU_DST_SEED"])]
    return list(range(int(os.environ.get("SATUPINTU_DST_SCENARIOS", "300"))))


@pytest.mark.slow
def test_no_fault_or_crash_loses_or_doubles_a_payment(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip(
            "the simulation runs on the embedded database; PostgreSQL has real-thread tests"
        )
    totals: Counter[str] = Counter()
    crashes = 0
    for seed in _seeds():
        wipe(engine)
        outcome = run_scenario(seed, session_factory)
        assert not outcome.problems, (
            f"seed {seed} broke an invariant (replay with SATUPINTU_DST_SEED={seed}): "
            f"{outcome.problems}"
        )
        totals.update(outcome.states)
        crashes += outcome.crashes
    if len(_seeds()) >= 100:
        # The scenarios must actually exercise every ending, or the invariants prove little.
        assert {"committed", "voided", "needs_review"} <= set(totals), totals
        assert crashes > 0
