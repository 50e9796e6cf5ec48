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

from gateway.indexing.cluster import coordinator
from gateway.indexing.cluster.coordinator import ShardedIdentifier
from gateway.indexing.cluster.factory import ClusterIdentifierFactory, shard_actors
from gateway.indexing.cluster.routing import PersonHashRouter, RegionRouter, ShardRouter
from gateway.indexing.cluster.shard import ShardStatus
from gateway.indexing.errors import SearchIncomplete
from gateway.indexing.identifiers import IdentifierFactory
from gateway.registry.service import find_person
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


def _kill_for_good(sharded: ShardedIdentifier, shard: int) -> None:
    """Kill a shard's replicas and return once they refuse calls: a kill takes effect
    asynchronously, and a search the shard still answers is rightly complete."""
    _kill(sharded, shard, restart=False)
    for actor in sharded.replicas[shard]:
        give_up = time.monotonic() + 60
        while True:
            try:
                ray.get(actor.status.remote(), timeout=30)
            except RayError:
                break
            assert time.monotonic() < give_up, "the killed actor kept answering"
            time.sleep(0.1)


def _two_per_shard(
    world: World, router: ShardRouter, adults: list[dict[str, str]]
) -> list[dict[str, str]]:
    """Four adults, the first two of each of two shards, in register order."""
    by_shard: dict[int, list[dict[str, str]]] = {0: [], 1: []}
    with world.session_factory() as session:
        for row in adults:
            shard = router.shard_of(find_person(session=session, nik=row["nik"]).id, 0)
            by_shard[shard].append(row)
    assert all(len(rows) >= 2 for rows in by_shard.values()), "the register is too small"
    picked = by_shard[0][:2] + by_shard[1][:2]
    return [row for row in adults if row in picked]


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


def test_shards_that_compared_too_few_exactly_are_asked_for_the_rest(
    local_ray: None,
    prints: list[tuple[PreparedTemplate, PreparedTemplate]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each shard compares exactly only about its share of the persons the decision rests
    on; when a shard held more of them (here: every shard compares one), a follow-up call
    fetches the rest, and the ranking is still one index's."""
    settings = IndexSettings(index_type="flat", shortlist=24, rerank_exact=8)
    factory = IdentifierFactory(finger_settings=settings)
    single = factory("finger")
    single.apply(_events(prints))
    sharded = _sharded(factory, PersonHashRouter(3))
    sharded.apply(_events(prints))
    monkeypatch.setattr(coordinator, "shard_keep", lambda keep, held, shortlisted: 1)
    for person in range(0, PERSONS, 7):
        probe = {2: prints[person][1]}
        before = sharded.calls.stats.calls
        split = sharded.search(probe, limit=5)
        assert sharded.calls.stats.calls - before > 2 * 3  # the follow-up round was needed
        assert split.complete
        assert _ranked(split) == _ranked(single.search(probe, limit=5))


def test_a_shard_compares_about_its_share_of_the_exact_pass_never_more_than_all() -> None:
    assert coordinator.shard_keep(None, 100, 300) is None  # one pass: everyone exactly
    assert coordinator.shard_keep(32, 300, 300) == 32  # the only shard asked
    assert coordinator.shard_keep(32, 150, 300) == 26  # 2 shards: ⌈16 + 3·2.83⌉ + 1
    assert coordinator.shard_keep(32, 75, 300) == 17  # 4 shards: ⌈8 + 3·2.45⌉ + 1
    assert coordinator.shard_keep(32, 5, 300) == 4  # ⌈0.53 + 3·0.72⌉ + 1


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


def test_the_gateway_never_turns_a_partial_search_into_not_found(
    local_ray: None, world: World
) -> None:
    """On the cluster backend with a shard down: a cardless identify that finds nobody is
    answered 503 "try again" (someone found on the live shard still matches), and a
    de-duplication is held for adjudication, not recorded as "no duplicate"."""
    world.indexes.factory = ClusterIdentifierFactory(
        base=world.indexes.factory, shards=2, replicas=1, deadline_s=2.0, snapshot_dir=None
    )
    world.indexes.rebuild()
    sharded = world.indexes.identifiers["finger"]
    assert isinstance(sharded, ShardedIdentifier)
    # Two enrolled persons on each shard. Person ids come from the database (a PostgreSQL
    # sequence keeps counting across tests), so the adults are picked by where their ids
    # land: with a fixed pick, now and then all four landed on the shard that stays up,
    # and a search that misses an empty shard is rightly complete.
    adults = world.adults()
    enrolled = _two_per_shard(world, sharded.router, adults)
    # While both shards live, enrolments wait for fresh actors' first compile; the short
    # deadline applies once a shard is down.
    sharded.deadline_s = 300.0
    for seed, row in enumerate(enrolled, start=1):
        assert world.enroll(row["nik"], seed=seed) == "enrolled"
    sharded.deadline_s = 2.0
    _kill_for_good(sharded, 0)
    outcomes: list[bool | None] = []
    for seed in (1, 2, 3, 4, 40):
        try:
            decision = _decide(world, mode="1:N", fingers=_fingers(seed, 7))
            outcomes.append(decision.outcome.match)
        except SearchIncomplete as refused:
            assert refused.status == 503 and refused.details["unsearched"]
            outcomes.append(None)
    assert outcomes[-1] is None  # the stranger: not known, never "not found"
    # The two on the dead shard: "try again"; the two on the live one: found.
    assert outcomes[:4].count(None) == 2 and outcomes[:4].count(True) == 2
    stranger = next(row for row in adults if row not in enrolled)
    assert world.enroll(stranger["nik"], seed=40) == "pending_adjudication"


def test_a_write_a_dead_shard_missed_still_marks_its_region_unsearched(
    local_ray: None, prints: list[tuple[PreparedTemplate, PreparedTemplate]]
) -> None:
    """The regions a dead shard holds are those the coordinator routed to it, not only
    those of its last status: a person enrolled while their shard was down (the write it
    missed) is not answered "nobody" while that shard stays down. Before, a shard whose last
    status was empty counted as holding no region, and the search came back complete."""
    router = PersonHashRouter(2)
    sharded = _sharded(IdentifierFactory(), router)
    events = _events(prints)
    on_1 = [e for e in events if router.shard_of(e.person_id, 0) == 1]
    late = next(e for e in events if router.shard_of(e.person_id, 0) == 0)
    assert late.enrolment is not None
    sharded.apply(on_1)
    _kill_for_good(sharded, 0)
    moved = Enrolment(late.person_id, RegionCode(51, 71), late.enrolment.samples)
    sharded.apply([IndexEvent(on_1[-1].event_id + 1, late.person_id, moved)])

    result = sharded.search({2: prints[late.person_id][1]}, limit=5)
    assert late.person_id not in [c.person_id for c in result.candidates]
    assert result.unsearched == (RegionCode(51, 71),)
    scoped = sharded.search({2: prints[late.person_id][1]}, region=RegionCode(51), limit=5)
    assert scoped.unsearched == (RegionCode(51, 71),)
    found = sharded.search({2: prints[on_1[0].person_id][1]}, limit=5)
    assert found.candidates[0].person_id == on_1[0].person_id
