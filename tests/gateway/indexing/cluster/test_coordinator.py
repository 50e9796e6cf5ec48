"""The gallery split across Ray actors decides like one index, and says when it could not.

Ray starts once for the module, inside the test process (a local cluster of 2 CPUs and a
small object store): starting it costs seconds and about a gigabyte, so the tests here are
few and share it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import ray
from ray.exceptions import RayError

from gateway.indexing.cluster.coordinator import ShardedIdentifier
from gateway.indexing.cluster.factory import ClusterIdentifierFactory, shard_actors
from gateway.indexing.cluster.routing import PersonHashRouter, RegionRouter, ShardRouter
from gateway.indexing.cluster.shard import ShardStatus
from gateway.indexing.errors import SearchIncomplete
from gateway.indexing.identifiers import IdentifierFactory
from matcher.fingerprint.compare import PreparedTemplate, prepare
from matcher.index.base import Enrolment, IndexEvent, RegionCode, SearchResult
from matcher.index.buckets import train_ivf_centroids
from matcher.index.settings import IndexSettings
from matcher.synthetic.minutiae import impression, master
from tests.gateway.enrollment.world import World
from tests.gateway.verification.test_verification_service import _decide, _fingers

PERSONS = 48
REGIONS = (RegionCode(31, 71), RegionCode(32, 73), RegionCode(35, 78))


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        object_store_memory=100 * 1024 * 1024,
        include_dashboard=False,
        log_to_driver=False,
    )
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def prints() -> list[tuple[PreparedTemplate, PreparedTemplate]]:
    """(enrolled, probe) impressions of PERSONS synthetic fingers (index = person id)."""
    return [
        (prepare(impression(master(5000 + i), seed=1)), prepare(impression(master(5000 + i), 2)))
        for i in range(PERSONS)
    ]


def _events(prints: list[tuple[PreparedTemplate, PreparedTemplate]]) -> list[IndexEvent[Any]]:
    return [
        IndexEvent(i + 1, i, Enrolment(i, REGIONS[i % len(REGIONS)], {2: enrolled}))
        for i, (enrolled, _) in enumerate(prints)
    ]


def _sharded(
    factory: IdentifierFactory,
    router: ShardRouter,
    *,
    replicas: int = 1,
    centroids: np.ndarray | None = None,
    snapshot_dir: Path | None = None,
) -> ShardedIdentifier:
    sharded = ShardedIdentifier(
        local=factory("finger", centroids),
        router=router,
        replicas=shard_actors(
            modality="finger",
            factory=factory,
            shards=router.shards,
            replicas=replicas,
            centroids=centroids,
            snapshot_dir=snapshot_dir,
        ),
        deadline_s=120.0,
    )
    # Actors start (imports, JIT) before the first search is timed against its deadline: on a
    # loaded machine that start alone can outlast it.
    ray.get([actor.status.remote() for group in sharded.replicas for actor in group], timeout=300)
    return sharded


def _ranked(result: SearchResult) -> tuple[Any, ...]:
    return (
        [(c.person_id, c.score, c.fmr, c.fpir, c.region) for c in result.candidates],
        result.gallery_size,
        result.shortlist_size,
        result.scope,
        result.widened,
    )


def _status_after_restart(actor: Any) -> ShardStatus:
    """The status of an actor's next incarnation (a kill takes effect asynchronously)."""
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        try:
            status: ShardStatus = ray.get(actor.status.remote(), timeout=30)
            if status.source == "snapshot":
                return status
        except RayError:
            pass
        time.sleep(0.2)
    raise AssertionError("the actor did not come back from its snapshot")


def _kill(sharded: ShardedIdentifier, shard: int, *, restart: bool) -> None:
    for actor in sharded.replicas[shard]:
        ray.kill(actor, no_restart=not restart)


@pytest.mark.parametrize("index_type", ["flat", "ivf"])
def test_sharded_top_k_equals_one_index(
    local_ray: None, prints: list[tuple[PreparedTemplate, PreparedTemplate]], index_type: str
) -> None:
    """Nationwide and region-scoped (widening) searches over 3 hash shards, and nationwide
    searches over region shards, rank the same persons with the same scores as one index
    of the same gallery. (A region shard answers a scoped search from its region's own
    nearest codes, as the regency layout does, not from the national ones.)"""
    settings = IndexSettings(index_type=index_type, ivf_lists=8, ivf_probe=3, shortlist=12)  # type: ignore[arg-type]
    factory = IdentifierFactory(finger_settings=settings)
    centroids = None
    if index_type == "ivf":
        codes = np.concatenate([factory.finger_encoder.encode(e) for e, _ in prints])
        centroids = train_ivf_centroids(codes, 8)
    single = factory("finger", centroids)
    single.apply(_events(prints))
    for router, scopes in (
        (PersonHashRouter(3), (None, 0, 1)),
        (RegionRouter.balanced(2, {r.province: 1 for r in REGIONS}), (None,)),
    ):
        sharded = _sharded(factory, router, centroids=centroids)
        sharded.apply(_events(prints))
        assert len(sharded) == PERSONS
        for person in (*range(0, PERSONS, 5), 1):
            probe = {2: prints[person][1]}
            for shift in scopes:
                region = None if shift is None else REGIONS[(person + shift) % 3]
                one = single.search(probe, region=region, limit=5)
                split = sharded.search(probe, region=region, limit=5)
                assert split.complete
                assert _ranked(split) == _ranked(one)
            assert one.candidates[0].person_id == person


def test_a_dead_shard_gives_partial_answers_and_a_restarted_one_rejoins(
    local_ray: None, prints: list[tuple[PreparedTemplate, PreparedTemplate]], tmp_path: Path
) -> None:
    factory = IdentifierFactory()
    single = factory("finger")
    single.apply(_events(prints))
    router = PersonHashRouter(2)
    sharded = _sharded(factory, router, replicas=2, snapshot_dir=tmp_path)
    events = _events(prints)
    sharded.apply(events[:30])
    sharded.save_snapshots()
    sharded.apply(events[30:])
    on_0 = next(p for p in range(30, PERSONS) if router.shard_of(p, 0) == 0)
    on_1 = next(p for p in range(PERSONS) if router.shard_of(p, 0) == 1)

    # One replica of shard 0 restarts from its snapshot (30 events): it is behind, so the
    # other replica answers and nothing is partial.
    ray.kill(sharded.replicas[0][0], no_restart=False)
    assert _status_after_restart(sharded.replicas[0][0]).last_event_id == 30
    assert sharded.search({2: prints[on_0][1]}).complete
    assert sharded.last_event_id == 30  # replay starts after the snapshot

    # The up-to-date replica dies too: shard 0 is behind or gone, the answer says so.
    ray.kill(sharded.replicas[0][1], no_restart=True)
    partial = sharded.search({2: prints[on_0][1]}, limit=5)
    assert not partial.complete
    assert set(partial.unsearched) == set(REGIONS)
    assert on_0 not in [c.person_id for c in partial.candidates]
    found = sharded.search({2: prints[on_1][1]}, limit=5)
    assert found.candidates[0].person_id == on_1 and not found.complete

    # Replay brings the restarted replica up to date, and the answers whole again.
    sharded.apply(events[sharded.last_event_id :])
    for person in (on_0, on_1):
        whole = sharded.search({2: prints[person][1]}, limit=5)
        assert whole.complete
        assert _ranked(whole) == _ranked(single.search({2: prints[person][1]}, limit=5))


@pytest.mark.xfail(
    strict=False,
    reason="Known defect: now and then a stranger's search with a shard killed moments before "
    "comes back complete (a false 'not found'); the race between the kill and the "
    "coordinator's view of the shard is not yet found.",
)
def test_the_gateway_never_turns_a_partial_search_into_not_found(
    local_ray: None, world: World
) -> None:
    """On the cluster backend with a shard down: a cardless identify that finds nobody is
    answered 503 "try again" (someone found on the live shard still matches), and a
    de-duplication is held for adjudication, not recorded as "no duplicate"."""
    adults = world.adults()
    world.indexes.factory = ClusterIdentifierFactory(
        base=world.indexes.factory, shards=2, replicas=1, deadline_s=2.0, snapshot_dir=None
    )
    world.indexes.rebuild()
    sharded = world.indexes.identifiers["finger"]
    assert isinstance(sharded, ShardedIdentifier)
    # While both shards live, enrolments wait for fresh actors' first compile; the short
    # deadline applies once a shard is down.
    sharded.deadline_s = 300.0
    for seed, row in enumerate(adults[:4], start=1):
        assert world.enroll(row["nik"], seed=seed) == "enrolled"
    sharded.deadline_s = 2.0
    _kill(sharded, 0, restart=False)
    outcomes = []
    for seed in (1, 2, 3, 4, 40):
        try:
            decision = _decide(world, mode="1:N", fingers=_fingers(seed, 7))
            outcomes.append(decision.outcome.match)
        except SearchIncomplete as refused:
            assert refused.status == 503 and refused.details["unsearched"]
            outcomes.append(None)
    assert outcomes[-1] is None  # the stranger: not known, never "not found"
    assert None in outcomes[:4] and True in outcomes[:4] and False not in outcomes
    assert world.enroll(adults[5]["nik"], seed=40) == "pending_adjudication"
