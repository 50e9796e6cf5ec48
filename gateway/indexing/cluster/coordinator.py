"""The coordinator: one 1:N search fanned out to the shards' Ray actors and merged.

An identify makes two requests per shard, each carrying every sample and code of the probe;
requests of concurrent identifies travel together, one call per shard replica at a time
(`batching.BatchedCalls`), so a shard's call rate stays bounded whatever the identify rate:

1. `nearest`: each shard's nearest codes for every probe code; merged, they are exactly
   the nearest codes one index over the whole gallery would return (the shards share IVF
   centroids, so the same lists are probed), and vote for the same shortlist;
2. `rescore`: each shard re-ranks the shortlisted persons it holds, first pass and exact
   pass (for about its share of the persons one index would compare exactly,
   `shard_keep`); merged, the best by the first pass are those one index would compare
   exactly, and the few a shard did not compare are asked for in a follow-up call.

So the merged top-k equals the single index's. Each shard has replicas; a call goes to one
replica and, when it fails or answers from an incarnation that has not caught up with the
events, to the next. A shard none of whose replicas answers within the deadline is left
out, and the result names the regions whose persons it holds (`SearchResult.unsearched`):
callers treat such an answer as "not known", never as "nobody".
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import Any

import numpy as np
import ray
from ray.exceptions import RayError

from gateway.indexing.cluster.batching import BatchedCalls
from gateway.indexing.cluster.routing import ShardRouter
from gateway.indexing.cluster.shard import ShardStatus
from matcher.index.base import Enrolment, IndexEvent, RegionCode, SearchResult, T
from matcher.index.binary import BinaryIdentifier
from matcher.index.ids import POSITIONS, REGION_SHIFT, ROW_MASK, in_scope
from matcher.index.rerank import Rescored
from matcher.index.voting import Hits, empty_hits, nearest_of, neighbours_per_code

log = logging.getLogger("gateway.indexing.cluster")


class _Stale(Exception):
    """A replica answered from a state older than the events the gallery has applied."""


class ShardedIdentifier:
    """A split gallery behind the interface of one identifier (search, apply, size).

    `local` is an empty identifier of the same modality and settings: the coordinator uses
    it to encode probes, vote and decide, so those steps are the single index's own code.
    `replicas[s]` are the Ray actor handles of shard `s`; `calls_in_flight` bounds the
    calls outstanding per replica and stage, `max_batch` the probes one call carries.
    """

    def __init__(
        self,
        *,
        local: BinaryIdentifier[Any],
        router: ShardRouter,
        replicas: Sequence[Sequence[Any]],
        deadline_s: float,
        calls_in_flight: int = 2,
        max_batch: int = 16,
    ) -> None:
        if len(replicas) != router.shards:
            raise ValueError("one replica list per shard")
        self.local = local
        self.settings = local.settings
        self.router = router
        self.replicas = [list(r) for r in replicas]
        self.deadline_s = deadline_s
        self.calls = BatchedCalls(
            in_flight=calls_in_flight, max_batch=max_batch, expire_s=deadline_s
        )
        self._turn = itertools.count()
        self._write = threading.Lock()
        self._head = 0  # the last event applied through this coordinator
        self._status: dict[int, ShardStatus] = {}
        # The region keys each shard may hold: every region a status reported and every
        # region a write was routed to, whether the shard acknowledged it or not. It only
        # grows, so a shard that stops answering is never credited with fewer regions than
        # it holds (a status from a replica behind the others, or a write it missed, would).
        self._may_hold: list[set[int]] = [set() for _ in range(router.shards)]
        self.refresh()

    # ------------------------------------------------------------ state

    def refresh(self) -> None:
        """Read every live replica's status (census, progress)."""
        for shard, actors in enumerate(self.replicas):
            for actor in actors:
                try:
                    self._record(shard, ray.get(actor.status.remote(), timeout=30))
                except RayError:
                    continue

    def _record(self, shard: int, status: ShardStatus) -> None:
        """Keep the most advanced status a shard's replicas reported: a replica just back
        from an older snapshot must not shrink the gallery the FPIR is computed over."""
        self._may_hold[shard].update(k for k, n in status.census.items() if n)
        held = self._status.get(shard)
        if held is None or (status.last_event_id, status.persons) >= (
            held.last_event_id,
            held.persons,
        ):
            self._status[shard] = status

    def __len__(self) -> int:
        return sum(s.persons for s in self._status.values())

    @property
    def last_event_id(self) -> int:
        """The oldest event any live replica reflects: replay must start after it, so a
        restarted replica (back from its snapshot) is caught up by the next replay."""
        ids = []
        for actors in self.replicas:
            for actor in actors:
                try:
                    ids.append(ray.get(actor.status.remote(), timeout=30).last_event_id)
                except RayError:
                    continue
        return min(ids, default=self._head)

    def persons_in(self, scope: RegionCode | None) -> int:
        """Persons enrolled inside `scope` across every shard (answering or not): the N of
        FPIR is the gallery the decision is about, so a partial search is not made laxer."""
        total = 0
        for status in self._status.values():
            keys = np.fromiter(status.census, dtype=np.int64, count=len(status.census))
            counts = np.fromiter(status.census.values(), dtype=np.int64, count=len(keys))
            total += int(counts.sum() if scope is None else counts[in_scope(keys, scope)].sum())
        return total

    def ivf_centroids(self) -> Any:
        return self.local.ivf_centroids()

    # ------------------------------------------------------------ writes

    def upsert(self, enrolment: Enrolment[T], *, event_id: int | None = None) -> None:
        """Enrol a person on their shard (a rebuild; the event stream goes through `apply`)."""
        if event_id is not None:
            self.apply([IndexEvent(event_id, enrolment.person_id, enrolment)])
            return
        shard = self.router.shard_of(enrolment.person_id, enrolment.region.key)
        with self._write:
            self._may_hold[shard].add(enrolment.region.key)
            self._collect_status(
                [(shard, a.upsert.remote(enrolment)) for a in self.replicas[shard]]
            )

    def apply(self, events: Iterable[IndexEvent[Any]]) -> int:
        """Route each event to the shard of its person; every other shard only records that
        it is up to date (a region-routed person may have moved: they get the removal)."""
        events = list(events)
        if not events:
            return 0
        with self._write:
            batches: dict[int, list[IndexEvent[Any]]] = {s: [] for s in range(self.router.shards)}
            for event in events:
                owner = None
                if event.enrolment is not None:
                    owner = self.router.shard_of(event.person_id, event.enrolment.region.key)
                    self._may_hold[owner].add(event.enrolment.region.key)
                for shard in range(self.router.shards):
                    if shard == owner:
                        batches[shard].append(event)
                    elif owner is None or self.router.name == "region":
                        batches[shard].append(IndexEvent(event.event_id, event.person_id, None))
            last = max(e.event_id for e in events)
            calls = []
            for shard, batch in batches.items():
                for actor in self.replicas[shard]:
                    calls.append((shard, actor.apply.remote(batch, last)))
            self._collect_status(calls)
            self._head = max(self._head, last)
        return len(events)

    def mark_applied(self, event_id: int) -> None:
        with self._write:
            calls = [
                (shard, actor.mark_applied.remote(event_id))
                for shard, actors in enumerate(self.replicas)
                for actor in actors
            ]
            self._collect_status(calls)
            self._head = max(self._head, event_id)

    def _collect_status(self, calls: list[tuple[int, Any]]) -> None:
        """Wait for writes; a replica that died misses them and is replayed when back."""
        for shard, call in calls:
            try:
                self._record(shard, ray.get(call, timeout=60))
            except RayError:
                log.warning("shard replica missed a write", extra={"shard": shard})

    def save_snapshots(self) -> None:
        """Each shard's first live replica writes the shard's snapshot."""
        for shard, actors in enumerate(self.replicas):
            for actor in actors:
                try:
                    ray.get(actor.save.remote(), timeout=600)
                    break
                except RayError:
                    continue
            else:
                log.warning("no replica could save the shard", extra={"shard": shard})

    # ------------------------------------------------------------ search

    def search(
        self,
        probe: Mapping[int, Any],
        *,
        region: RegionCode | None = None,
        limit: int = 10,
        fallback: bool = True,
    ) -> SearchResult:
        """As `BinaryIdentifier.search`, over every shard within the deadline."""
        started = time.monotonic()
        deadline = started + self.deadline_s
        # The nearest-codes round gets half the time: a shard that hangs (its actor being
        # restarted) must leave the re-ranking of what the others found time to answer.
        first_round = started + self.deadline_s / 2
        positions, templates, codes = self.local.encode_probe(probe)
        asked = self.router.shards_for(region)
        hits, missing = self._nearest(codes, asked, first_round)
        result = self._decide(positions, templates, hits, region, limit, missing, deadline)
        if region is not None and fallback and not self.local.accepts(result):
            others = [s for s in range(self.router.shards) if s not in asked]
            if others:
                more, more_missing = self._nearest(codes, others, first_round)
                hits = [self._joined(a, b, c) for a, b, c in zip(hits, more, codes, strict=True)]
                missing |= more_missing
            result = self._decide(positions, templates, hits, None, limit, missing, deadline, True)
        return result

    def _k(self, codes: np.ndarray) -> int:
        return neighbours_per_code(self.settings, len(codes))

    def _joined(self, a: Hits | None, b: Hits | None, codes: np.ndarray) -> Hits | None:
        """One probe sample's hits from two sets of shards."""
        parts = [h for h in (a, b) if h is not None]
        return nearest_of(parts, self._k(codes)) if parts else None

    def _nearest(
        self, codes: list[np.ndarray], shards: list[int], deadline: float
    ) -> tuple[list[Hits | None], set[int]]:
        answers, missing = self._fan_out(
            shards, "nearest", lambda shard: codes, deadline, check_head=True
        )
        merged: list[Hits | None] = []
        for n, sample_codes in enumerate(codes):
            parts = [a[n] for a in answers.values() if a[n] is not None]
            if not len(sample_codes):
                merged.append(None)
            elif not parts:
                merged.append(empty_hits(len(sample_codes)))
            else:
                merged.append(nearest_of(parts, self._k(sample_codes)))
        return merged, missing

    def _decide(
        self,
        positions: list[int],
        templates: list[Any],
        hits: list[Hits | None],
        scope: RegionCode | None,
        limit: int,
        missing: set[int],
        deadline: float,
        widened: bool = False,
    ) -> SearchResult:
        persons = self.local.shortlist_of(hits, scope)
        keep = self.local.two_pass_keep(len(persons), limit)
        regions = _regions_of(hits)
        by_shard: dict[int, list[int]] = {}
        for pid in persons:
            by_shard.setdefault(self.router.shard_of(pid, regions.get(pid, 0)), []).append(pid)
        parts, late = self._fan_out(
            list(by_shard),
            "rescore",
            lambda shard: (
                by_shard[shard],
                positions,
                templates,
                shard_keep(keep, len(by_shard[shard]), len(persons)),
            ),
            deadline,
            check_head=False,
        )
        rescored = Rescored.merged(list(parts.values()))
        if keep is not None:
            # The decision rests on the best `keep` of the whole shortlist by the first
            # pass; a shard that held more of them than it compared exactly is asked for
            # the exact scores of those it left out.
            owners: dict[int, list[int]] = {}
            for pid in rescored.exact_persons(keep):
                if pid not in rescored.exact:
                    owners.setdefault(self.router.shard_of(pid, rescored.regions[pid]), []).append(
                        pid
                    )
            if owners:
                more, more_late = self._fan_out(
                    list(owners),
                    "rescore",
                    lambda shard: (owners[shard], positions, templates, None),
                    deadline,
                    check_head=False,
                )
                late |= more_late
                rescored = Rescored.merged([rescored, *more.values()])
        missing = missing | late
        result = self.local.decide(
            rescored,
            keep,
            positions,
            gallery=self.persons_in(scope),
            scope=scope,
            widened=widened,
            limit=limit,
            shortlist_size=len(persons),
        )
        return dataclasses.replace(result, unsearched=self._unsearched(missing, scope))

    def _unsearched(self, missing: set[int], scope: RegionCode | None) -> tuple[RegionCode, ...]:
        """The regions some of whose persons live on a shard that did not answer: those it
        may hold (see `_may_hold`), not only those of its last status."""
        keys: set[int] = set()
        for shard in missing:
            # A shard never heard from and never written to may hold anyone: the whole
            # scope (or country).
            if shard not in self._status and not self._may_hold[shard]:
                return (scope,) if scope is not None else (RegionCode(11),)
            keys.update(self._may_hold[shard])
        regions = sorted(RegionCode.from_key(k) for k in keys)
        if scope is not None:
            regions = [r for r in regions if scope.contains(r)]
        return tuple(regions)

    def _fan_out(
        self,
        shards: list[int],
        method: str,
        request: Callable[[int], Any],
        deadline: float,
        *,
        check_head: bool,
    ) -> tuple[dict[int, Any], set[int]]:
        """One request per shard to one replica, the next replica when it fails or is
        stale; the shards with no answer by the deadline are returned as missing."""
        turn = next(self._turn)
        tried: dict[int, int] = {}
        pending: dict[Future[Any], int] = {}

        def submit(shard: int) -> None:
            actors = self.replicas[shard]
            n = tried.get(shard, 0)
            if n < len(actors):
                tried[shard] = n + 1
                replica = (turn + n) % len(actors)
                key = (shard, replica, method)
                pending[self.calls.submit(key, actors[replica], method, request(shard))] = shard

        for shard in shards:
            submit(shard)
        answers: dict[int, Any] = {}
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            ready, _ = wait(list(pending), timeout=remaining, return_when=FIRST_COMPLETED)
            for future in ready:
                shard = pending.pop(future)
                try:
                    value = future.result()
                    if check_head:
                        last, value = value
                        if last < self._head:
                            raise _Stale
                    answers[shard] = value
                except (RayError, _Stale):
                    submit(shard)
        return answers, set(shards) - set(answers)


def shard_keep(keep: int | None, held: int, shortlisted: int) -> int | None:
    """How many of its shortlisted persons a shard compares exactly, of the `keep` the
    decision rests on.

    Comparing its own best `keep` would cover the worst case (all of them on one shard),
    but makes the exact work grow with the shards: 4 shards, 4 × 32 comparisons where one
    index makes 32. A shard holding a share p of the shortlist holds about keep × p of the
    best `keep`; three standard deviations more (a binomial count) leave a follow-up call
    for the rest to a few searches in a hundred, and the answer stays exactly one index's.
    """
    if keep is None or held >= shortlisted:
        return keep
    share = held / shortlisted
    expected = keep * share
    return min(keep, math.ceil(expected + 3.0 * math.sqrt(expected * (1.0 - share))) + 1)


def _regions_of(hits: Sequence[Hits | None]) -> dict[int, int]:
    """Each voted person's region key, read off the FAISS ids (for region routing)."""
    out: dict[int, int] = {}
    for hit in hits:
        if hit is None:
            continue
        ids = hit[1][hit[1] >= 0]
        for pid, key in zip(
            ((ids & ROW_MASK) // POSITIONS).tolist(), (ids >> REGION_SHIFT).tolist(), strict=True
        ):
            out[pid] = key
    return out


def shard_snapshot_path(directory: Path | None, modality: str, shard: int) -> Path | None:
    """Where a shard keeps its snapshot (shared storage in a cluster)."""
    return None if directory is None else directory / f"{modality}.shard{shard}.snapshot"
