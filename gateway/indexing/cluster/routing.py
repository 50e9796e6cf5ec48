"""Which shard holds a person, and which shards a search must ask.

Two policies. `PersonHashRouter` spreads persons evenly by a hash of their id: every shard
holds about the same share of every region, so a national search waits for equal shards,
and a region-scoped search asks every shard and filters on the ids (the region is packed
into each FAISS id). `RegionRouter` keeps each province on one shard: a scoped search asks
one shard, but provinces differ in size by about 50×, so shards are unequal and a national
search waits for the largest. Figures: docs/cluster.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from matcher.index.base import RegionCode

_MASK = (1 << 64) - 1


def _mix(value: int) -> int:
    """splitmix64's finaliser: consecutive person ids (as a register assigns them) land on
    shards in no pattern, so no shard collects a batch of one import."""
    z = (value + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


class ShardRouter(Protocol):
    """Maps persons to shards and searches to the shards that can hold their answer."""

    shards: int
    name: str

    def shard_of(self, person_id: int, region_key: int) -> int: ...

    def shards_for(self, scope: RegionCode | None) -> list[int]: ...


class PersonHashRouter:
    """Even shards: a person's shard is a hash of their id."""

    name = "person-hash"

    def __init__(self, shards: int) -> None:
        if shards < 1:
            raise ValueError("a gallery needs at least one shard")
        self.shards = shards

    def shard_of(self, person_id: int, region_key: int) -> int:
        return _mix(person_id) % self.shards

    def shards_for(self, scope: RegionCode | None) -> list[int]:
        return list(range(self.shards))


class RegionRouter:
    """Whole provinces per shard, assigned so shards are as equal as province sizes allow."""

    name = "region"

    def __init__(self, shards: int, provinces: Mapping[int, int]) -> None:
        self.shards = shards
        self.provinces = dict(provinces)

    @classmethod
    def balanced(cls, shards: int, sizes: Mapping[int, int]) -> RegionRouter:
        """Largest province first onto the least-loaded shard (greedy bin packing)."""
        load = [0] * shards
        provinces: dict[int, int] = {}
        for province, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
            target = min(range(shards), key=lambda s: (load[s], s))
            provinces[province] = target
            load[target] += size
        return cls(shards, provinces)

    def shard_of(self, person_id: int, region_key: int) -> int:
        province = region_key // 100
        return self.provinces.get(province, province % self.shards)

    def shards_for(self, scope: RegionCode | None) -> list[int]:
        if scope is None:
            return list(range(self.shards))
        return [self.shard_of(0, scope.key)]
