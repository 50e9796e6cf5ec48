"""The exact stage: a shortlist scored with the modality's comparator, in one or two passes.

When the modality offers a cheaper stand-in for the probe (`coarse_probe`), every
shortlisted person is first scored with it and only the best `rerank_exact` are compared
exactly (see `IndexSettings.rerank_exact`). A `Rescored` holds both passes' scores by
person, so the scores of a shortlist split across shards merge into the same decision one
index would take.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic

import numpy as np
from numpy.typing import NDArray

from matcher.index.base import T, TemplateCodec
from matcher.index.gallery import StoredPerson
from matcher.index.voting import best_first


@dataclass(frozen=True, slots=True)
class Rescored:
    """Scores of shortlisted persons: first-pass sums (empty for one pass) and, for those
    compared exactly, one score per probe sample; with each person's region key."""

    first: dict[int, float] = field(default_factory=dict)
    exact: dict[int, tuple[float, ...]] = field(default_factory=dict)
    regions: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def merged(parts: Sequence[Rescored]) -> Rescored:
        """One shortlist's scores from the shards that each scored their own persons."""
        out = Rescored()
        for part in parts:
            out.first.update(part.first)
            out.exact.update(part.exact)
            out.regions.update(part.regions)
        return out

    def exact_persons(self, keep: int | None) -> list[int]:
        """Who the decision rests on: the best `keep` by the first pass, or everyone."""
        if keep is None:
            return list(self.exact)
        persons = list(self.first)
        return best_first(persons, [self.first[p] for p in persons], keep)


@functools.cache
def _rerank_pool(threads: int) -> ThreadPoolExecutor:
    """One pool per width, shared by every identifier and search of the process."""
    return ThreadPoolExecutor(threads, thread_name_prefix="rerank")


class Reranker(Generic[T]):
    """Scores probe samples against stored persons with the modality's comparator."""

    def __init__(
        self,
        *,
        codec: TemplateCodec[T],
        comparator: Callable[[T, T], float],
        coarse_probe: Callable[[T], T] | None,
        score_stored: Callable[[T, Sequence[bytes]], NDArray[np.float64]] | None,
        threads: int,
    ) -> None:
        self.codec = codec
        self.comparator = comparator
        self.coarse_probe = coarse_probe
        self.score_stored = score_stored
        self.threads = threads

    def rescore(
        self,
        stored: Mapping[int, StoredPerson],
        persons: list[int],
        positions: list[int],
        templates: list[T],
        keep: int | None,
    ) -> Rescored:
        """First pass over `persons` then exact scores of the best `keep`, or exact scores
        of all of them when `keep` is None."""
        # Each person's templates are decoded once, whichever passes compare them.
        decoded: dict[int, dict[int, T]] = {pid: {} for pid in persons}
        regions = {pid: stored[pid].region_key for pid in persons}
        first: dict[int, float] = {}
        exact = persons
        if keep is not None and self.coarse_probe is not None:
            cheap = [self.coarse_probe(t) for t in templates]

            def first_pass(part: list[int]) -> list[float]:
                return self.scores(stored, part, positions, cheap, decoded).sum(axis=1).tolist()

            first = dict(zip(persons, self._split(first_pass, persons), strict=True))
            exact = best_first(persons, [first[p] for p in persons], keep)
        rows = self.scores(stored, exact, positions, templates, decoded).tolist()
        return Rescored(
            first=first,
            exact={pid: tuple(row) for pid, row in zip(exact, rows, strict=True)},
            regions=regions,
        )

    def _split(self, work: Callable[[list[int]], list[float]], persons: list[int]) -> list[float]:
        """`work` over the persons, in `threads` slices at once (the comparator releases
        the GIL) or on the caller's thread."""
        threads = min(self.threads, len(persons))
        if threads <= 1:
            return work(persons)
        step = -(-len(persons) // threads)
        parts = [persons[a : a + step] for a in range(0, len(persons), step)]
        return [s for part in _rerank_pool(threads).map(work, parts) for s in part]

    def scores(
        self,
        stored: Mapping[int, StoredPerson],
        persons: list[int],
        positions: list[int],
        templates: list[T],
        decoded: dict[int, dict[int, T]],
    ) -> NDArray[np.float64]:
        """(persons, probe samples) scores: each probe sample against the person's sample
        at its position, or the best of their samples when the position is unknown (0) or
        not enrolled."""
        if self.score_stored is None:
            return np.array(
                [
                    list(
                        self._sample_scores(
                            stored[pid], positions, templates, decoded[pid]
                        ).values()
                    )
                    for pid in persons
                ],
                dtype=np.float64,
            ).reshape(len(persons), len(positions))
        out = np.full((len(persons), len(positions)), -np.inf)
        for column, (pos, template) in enumerate(zip(positions, templates, strict=True)):
            owners: list[int] = []
            blobs: list[bytes] = []
            for n, pid in enumerate(persons):
                person = stored[pid]
                if pos != 0 and pos in person.positions:
                    owners.append(n)
                    blobs.append(person.templates[person.positions.index(pos)])
                else:
                    owners.extend([n] * len(person.templates))
                    blobs.extend(person.templates)
            np.maximum.at(out[:, column], owners, self.score_stored(template, blobs))
        return out

    def _sample_scores(
        self, person: StoredPerson, positions: list[int], templates: list[T], decoded: dict[int, T]
    ) -> dict[int, float]:
        """The probe's score per sample position against one person; `decoded` caches the
        person's templates (a compact codec prepares each again, ~1 ms), so samples the probe
        does not need are never decoded."""

        def enrolled(slot: int) -> T:
            if slot not in decoded:
                decoded[slot] = self.codec.from_bytes(person.templates[slot])
            return decoded[slot]

        scores: dict[int, float] = {}
        for pos, template in zip(positions, templates, strict=True):
            if pos != 0 and pos in person.positions:
                score = self.comparator(template, enrolled(person.positions.index(pos)))
            else:  # unknown or unenrolled finger: the best of the person's samples
                score = max(
                    self.comparator(template, enrolled(k)) for k in range(len(person.templates))
                )
            scores[pos] = float(score)
        return scores
