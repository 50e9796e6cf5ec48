"""Deterministic simulation of payouts under bank faults and gateway crashes.

`SATUPINTU_DST_SCENARIOS` sets how many seeds run (default 300 here; thousands in the
reliability benchmark); `SATUPINTU_DST_SEED` replays one seed.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.simulation import audit_keys, run_scenario, wipe
from gateway import migrate
from gateway.db import make_engine, make_session_factory


def _seeds() -> list[int]:
    if "SATUPINTU_DST_SEED" in os.environ:
        return [int(os.environ["SATUPINTU_DST_SEED"])]
    return list(range(int(os.environ.get("SATUPINTU_DST_SCENARIOS", "300"))))


@pytest.mark.slow
def test_no_fault_or_crash_loses_or_doubles_a_payment(tmp_path: Path) -> None:
    # The simulation owns a fresh embedded database, as `satupintu-bench simulate` does, so a
    # seed replays identically whatever ran before it; PostgreSQL has real-thread tests.
    engine = make_engine(f"sqlite:///{tmp_path / 'simulation.db'}")
    migrate.upgrade(engine)
    session_factory = make_session_factory(engine)
    totals: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    with audit_keys(tmp_path):
        for seed in _seeds():
            wipe(engine)
            outcome = run_scenario(seed, session_factory)
            assert not outcome.problems, (
                f"seed {seed} broke an invariant (replay with SATUPINTU_DST_SEED={seed}): "
                f"{outcome.problems}"
            )
            totals.update(outcome.states)
            counts.update(
                crashes=outcome.crashes,
                stalls=outcome.stalls,
                retried=outcome.retried,
                resolved=outcome.resolved_without_a_human,
            )
    if len(_seeds()) >= 100:
        # The scenarios must actually exercise every ending and every fault, or the
        # invariants prove little; what the bank can decide is decided without a person.
        assert {"committed", "voided"} <= set(totals), totals
        assert counts["crashes"] > 0 and counts["stalls"] > 0, counts
        assert counts["resolved"] == counts["retried"] - totals["needs_review"] > 0, counts
    engine.dispose()
