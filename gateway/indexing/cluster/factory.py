"""Builds the fingerprint identifier as Ray shards (the cluster backend's factory)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import ray
from numpy.typing import NDArray

from gateway.indexing.cluster.coordinator import ShardedIdentifier, shard_snapshot_path
from gateway.indexing.cluster.routing import PersonHashRouter, ShardRouter
from gateway.indexing.cluster.shard import IndexShard
from gateway.indexing.identifiers import IdentifierFactory, Modality


def shard_actors(
    *,
    modality: Modality,
    factory: IdentifierFactory,
    shards: int,
    replicas: int,
    centroids: NDArray[np.uint8] | None,
    snapshot_dir: Path | None,
) -> list[list[Any]]:
    """`replicas` actors per shard. Ray restarts a dead actor with the same arguments, so a
    restarted replica reloads its shard's snapshot and is replayed by the gateway."""
    remote = ray.remote(IndexShard).options(
        # Searches are I/O-shaped for Ray (FAISS and the comparator release the GIL): a
        # replica serves several at once, and reserves no CPU so small nodes fit them.
        num_cpus=0,
        max_concurrency=4,
        max_restarts=-1,
        max_task_retries=0,
    )
    return [
        [
            remote.remote(
                shard=s,
                modality=modality,
                factory=factory,
                centroids=centroids,
                snapshot_path=shard_snapshot_path(snapshot_dir, modality, s),
            )
            for _ in range(replicas)
        ]
        for s in range(shards)
    ]


class ClusterIdentifierFactory(IdentifierFactory):
    """Fingerprints on Ray shards; irises (a smaller gallery a code) stay in process."""

    def __init__(
        self,
        *,
        base: IdentifierFactory,
        shards: int,
        replicas: int,
        deadline_s: float,
        snapshot_dir: Path | None,
        router: ShardRouter | None = None,
    ) -> None:
        self.__dict__.update(base.__dict__)
        self.base = base
        self.router = router or PersonHashRouter(shards)
        self.replicas = replicas
        self.deadline_s = deadline_s
        self.snapshot_dir = snapshot_dir

    def __call__(self, modality: Modality, ivf_centroids: NDArray[np.uint8] | None = None) -> Any:
        if modality != "finger":
            return self.base(modality, ivf_centroids)
        local = self.base(modality, ivf_centroids)
        return ShardedIdentifier(
            local=local,
            router=self.router,
            replicas=shard_actors(
                modality=modality,
                factory=self.base,
                shards=self.router.shards,
                replicas=self.replicas,
                centroids=ivf_centroids,
                snapshot_dir=self.snapshot_dir,
            ),
            deadline_s=self.deadline_s,
        )
