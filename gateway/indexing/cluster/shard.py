"""One shard of a split gallery: the project's own FAISS identifier, run inside a Ray actor.

A shard is a plain `BinaryIdentifier` holding its share of the persons, so every accuracy
figure of the single index carries over. It comes up from its own snapshot when one exists
(otherwise empty) and is brought up to date by the gateway's event replay; until then the
coordinator sees its `last_event_id` behind and does not rely on its answers. Searches run
the identifier's public stages (`nearest`, then `rescore`), so the coordinator can merge
them into the decision one identifier would take; each call carries a batch of the probes
that reached the coordinator together.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from gateway.indexing.identifiers import IdentifierFactory, Modality, load_snapshot
from matcher.index import snapshot
from matcher.index.base import Enrolment, IndexEvent, SnapshotError
from matcher.index.gallery import GalleryRows
from matcher.index.rerank import Rescored
from matcher.index.voting import Hits

log = logging.getLogger("gateway.indexing.cluster")


@dataclass(frozen=True, slots=True)
class ShardStatus:
    """What the coordinator needs to know of a shard: its progress and what it holds."""

    shard: int
    source: str  # "snapshot" or "empty": how this incarnation came up
    last_event_id: int
    persons: int
    census: dict[int, int]  # persons per region key
    memory_bytes: int


class IndexShard:
    """A shard's identifier and lifecycle (the class a Ray actor runs)."""

    def __init__(
        self,
        *,
        shard: int,
        modality: Modality,
        factory: IdentifierFactory,
        centroids: NDArray[np.uint8] | None,
        snapshot_path: Path | None,
    ) -> None:
        # One search per actor thread: FAISS's own threads would only contend with them.
        faiss.omp_set_num_threads(1)
        self.shard = shard
        self.snapshot_path = snapshot_path
        self.source = "empty"
        identifier: Any = None
        if snapshot_path is not None and snapshot_path.exists():
            try:
                identifier = load_snapshot(modality, snapshot_path, factory)
                self.source = "snapshot"
            except SnapshotError as exc:
                log.warning("shard snapshot refused, replaying", extra={"reason": exc.code})
        self.identifier = identifier if identifier is not None else factory(modality, centroids)

    def nearest_batch(
        self, requests: list[list[NDArray[np.uint8]]]
    ) -> list[tuple[int, list[Hits | None]]]:
        """The coarse stage over this shard for each probe of a batch, each with the last
        event this shard reflected when it answered."""
        return [(self.identifier.last_event_id, self.identifier.nearest(c)) for c in requests]

    def rescore_batch(
        self, requests: list[tuple[list[int], list[int], list[Any], int | None]]
    ) -> list[Rescored]:
        """Re-rank each probe's shortlisted persons this shard holds."""
        return [
            self.identifier.rescore(persons, positions, templates, keep)
            for persons, positions, templates, keep in requests
        ]

    def upsert(self, enrolment: Enrolment[Any]) -> ShardStatus:
        """Enrol a person outside the event stream (a rebuild from the database)."""
        self.identifier.upsert(enrolment)
        return self.status()

    def apply(self, events: Sequence[IndexEvent[Any]], up_to: int) -> ShardStatus:
        """Apply this shard's events in order (those already applied are skipped) and
        record that it reflects every event up to `up_to` (the others were not its own)."""
        self.identifier.apply(events)
        self.identifier.mark_applied(up_to)
        return self.status()

    def mark_applied(self, event_id: int) -> ShardStatus:
        self.identifier.mark_applied(event_id)
        return self.status()

    def bulk_load(self, rows: GalleryRows) -> ShardStatus:
        """Pre-encoded rows into an empty shard (benchmarks, large rebuilds)."""
        self.identifier.bulk_load(rows)
        return self.status()

    def status(self) -> ShardStatus:
        return ShardStatus(
            shard=self.shard,
            source=self.source,
            last_event_id=self.identifier.last_event_id,
            persons=len(self.identifier),
            census=self.identifier.region_census(),
            memory_bytes=self.identifier.memory_bytes(),
        )

    def save(self) -> int:
        """Write this shard's snapshot (atomically); returns the last event it holds."""
        if self.snapshot_path is None:
            return self.identifier.last_event_id
        if len(self.identifier) == 0:
            self.snapshot_path.unlink(missing_ok=True)
            return self.identifier.last_event_id
        return snapshot.save_snapshot(self.identifier, self.snapshot_path)
