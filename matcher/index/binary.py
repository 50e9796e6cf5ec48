"""The FAISS-backed identifier: binary codes in a national index, exact re-ranking, fusion.

Layout. A FAISS id packs the sample's region key (NIK province + regency), its code count,
the person id and the sample position (see `ROW_BITS`); an encoder may emit several codes
per sample (fingerprints: one per minutia), which then share that id, so one removal drops
them all. By default every code sits in one national index and a search
scoped to a region keeps only the neighbours whose id carries a region inside it (FAISS's
binary IVF takes no id selector); `IndexSettings.layout = "regency"` keeps one index per
regency instead, so a scoped search scans only its own. Templates are held as their codec's
bytes and decoded only for the shortlist.

Decision. Each probe code fetches its `neighbours` nearest enrolled codes, which vote for
their samples with weight max(0, bits/2 − Hamming distance) (codes are balanced, so bits/2
is what an unrelated code scores); a sample's votes are summed over the probe's codes, at
most one per probe code, and divided by the square root of the sample's code count (a
finger with many minutiae otherwise collects chance votes). The `shortlist` best-voted
samples per probe sample give the persons re-ranked: all of them against the modality's
cheaper stand-in for the probe when it has one (`coarse_probe`), then the best
`rerank_exact` of those (or the whole shortlist) with the exact comparator. Per-sample
scores become false match rates through the calibration and are fused by the injected rule
(the fingerprint index uses Fisher's method), and FPIR = min(1, N × FMR) with N the number of
persons searched.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, Literal

import faiss
import numpy as np
from numpy.typing import NDArray

from matcher.index.base import (
    Candidate,
    Enrolment,
    FixedLengthEncoder,
    IndexEvent,
    ProbeError,
    ProgressCallback,
    RegionCode,
    ScoreCalibration,
    SearchResult,
    T,
    TemplateCodec,
)
from matcher.index.rwlock import ReadWriteLock

POSITIONS = 16  # sample positions per person packed into one FAISS id (ISO finger codes 0–10)

# A FAISS id is the sample's row (`person_id * 16 + position`, 41 bits), its code count
# (8 bits, capped) and its region key (14 bits) above it, so scoping a national index's
# neighbours and normalising their votes are array operations on the ids, with no Python
# lookup per voted sample (that lookup cost ~4 ms of GIL-held time per 100k search).
ROW_BITS = 41
ROW_MASK = (1 << ROW_BITS) - 1
COUNT_SHIFT = ROW_BITS
COUNT_CAP = 255  # a sample with more codes votes as if it had 255
REGION_SHIFT = COUNT_SHIFT + 8
NATIONAL = 0  # the one bucket of the national layout (region keys start at 1100)

IndexType = Literal["flat", "ivf"]
TemplateStore = Literal["prepared", "compact"]
Layout = Literal["national", "regency"]


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """How the coarse stage is built and how wide the re-ranked shortlist is."""

    # "flat" scans every code exactly; "ivf" scans the `ivf_probe` nearest of `ivf_lists`
    # inverted lists. Measured on 20k synthetic fingers (rank-100 recall, FAISS ms per probe):
    # flat 0.98 / 127 ms, IVF 1024 lists probing 64 0.967 / 7.6 ms — the scan shrinks with the
    # share of lists probed, so IVF is what large galleries need (see benchmarks/identify.py
    # for 100k). Flat stays the default because IVF needs centroids trained on real codes.
    index_type: IndexType = "flat"
    # Enrolled codes fetched per probe code (the voters).
    neighbours: int = 50
    # Best-voted samples per probe sample sent to the exact matcher: the recall/latency dial.
    shortlist: int = 100
    # A sample's votes are divided by (its code count) ** this: a finger with many minutiae
    # collects chance votes in proportion to its codes. Measured on 100k synthetic fingers
    # (exact neighbours, 200 mates, 24 probe codes, 100 neighbours): recall of the top 100
    # 0.980 -> 0.985 and of the top 300 0.985 -> 0.990 at 0.5 (0.75 and 1 no better).
    # One code per sample (iris) is unaffected.
    vote_count_power: float = 0.5
    # Two-stage re-ranking: when the modality offers a cheaper probe (`coarse_probe`), every
    # shortlisted person is first scored with it and only the best `rerank_exact` (at least
    # the search's `limit`) are compared exactly; 0 compares the whole shortlist exactly.
    # Measured on 100k synthetic fingers (200 mates, shortlist 300): a fingerprint probe cut
    # to its 16 best-covered minutiae costs 55 µs a comparison instead of 118 µs and ranks
    # every mate the shortlist holds first or second (real FVC2002 mates: at most 4th), so
    # 32 exact comparisons lose none.
    rerank_exact: int = 32
    # Threads the first re-ranking pass of one search is split across (1: the caller's).
    # Measured on 100k synthetic fingers with 2 concurrent searches on 2 cores (IVF
    # 4096/128, shortlist 300): 2 threads gave p95 86 ms against 75 ms for 1 — the cores are
    # already busy with the other search, so splitting adds hand-offs, not capacity.
    rerank_threads: int = 1
    # A scoped search widens nationwide unless its best candidate reaches this FPIR.
    accept_fpir: float = 0.01
    # "national": one FAISS index for the whole country; a scoped search takes the national
    # neighbours and keeps the votes of samples enrolled in its region (the mate's votes are
    # the same as nationwide, the rivals fewer, so scoped recall is at least national
    # recall), and a widened search reuses them. "regency": one index per regency, so a
    # scoped search scans only its own (cheaper when a regency is a small share of the
    # country) and a nationwide one scans every bucket (dearer with every regency).
    # Measured on 100k synthetic fingers over 8 regencies (IVF 4096/128, 24 probe codes):
    # FAISS 32 -> 17 ms a search alone, and with 2 concurrent searches on 2 cores p95 51 ->
    # 32 ms for the whole search (recall unchanged, 0.98); one index per regency pays each
    # list visit once per regency, which grows with the country's ~500 regencies.
    layout: Layout = "national"
    ivf_lists: int = 4096
    # Lists scanned per probe code. Measured on 100k synthetic fingers (national layout, 2
    # concurrent searches): 64 keeps synthetic recall (0.98 of 200) but drops real FVC2002
    # DB1_B mates 0.971 -> 0.957; 192 with 32 probe codes gains 0.001 for p95 41 -> 52 ms.
    ivf_probe: int = 128
    # How a modality with two stored forms holds enrolled templates: "prepared" (ready to
    # compare) or "compact" (smaller, prepared again for the shortlist). Fingerprints: ~11 KB
    # vs ~0.3 KB per finger. Modalities with one form ignore it.
    template_store: TemplateStore = "prepared"


@dataclass(frozen=True, slots=True)
class _Person:
    region_key: int
    positions: tuple[int, ...]
    templates: tuple[bytes, ...]
    code_counts: tuple[int, ...]  # codes each sample holds in FAISS (part of their ids)


@dataclass(frozen=True, slots=True)
class GalleryRows:
    """A gallery as flat arrays: what snapshots store and bulk loads read.

    Samples (one row per person and position, a person's rows contiguous) and codes (one row
    per code, `code_ids` the FAISS id `person_id * 16 + position` of its sample).
    """

    person_ids: NDArray[np.int64]
    region_keys: NDArray[np.int64]
    positions: NDArray[np.int64]
    templates: Sequence[bytes]
    code_ids: NDArray[np.int64]
    codes: NDArray[np.uint8]
    last_event_id: int


def product_fmr(fmrs: Sequence[float]) -> float:
    """Product rule for independent samples (fingerprint uses Fisher's method instead)."""
    return math.prod(fmrs) if fmrs else 1.0


def _row_id(person_id: int, position: int) -> int:
    if not 0 <= position < POSITIONS:
        raise ProbeError(f"sample position {position} is outside 0–{POSITIONS - 1}")
    if not 0 <= person_id * POSITIONS <= ROW_MASK:
        raise ProbeError(f"person ids are integers from 0 to {ROW_MASK // POSITIONS}")
    return person_id * POSITIONS + position


@functools.cache
def _rerank_pool(threads: int) -> ThreadPoolExecutor:
    """One pool per width, shared by every identifier and search of the process."""
    return ThreadPoolExecutor(threads, thread_name_prefix="rerank")


def _faiss_ids(region_keys: Any, code_counts: Any, rows: Any) -> NDArray[np.int64]:
    """FAISS ids of sample rows: region key, code count and row (see ROW_BITS)."""
    counts = np.minimum(np.asarray(code_counts, dtype=np.int64), COUNT_CAP)
    keys = np.asarray(region_keys, dtype=np.int64)
    return (keys << REGION_SHIFT) | (counts << COUNT_SHIFT) | np.asarray(rows, dtype=np.int64)


def _codes_of_sample(code_ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """For each code (by its sample row), how many codes its sample holds."""
    _, inverse, counts = np.unique(code_ids, return_inverse=True, return_counts=True)
    return counts[inverse.reshape(-1)]


def _in_scope(region_keys: NDArray[np.int64], scope: RegionCode) -> NDArray[np.bool_]:
    """Which region keys (PPRR) lie inside a scope (a regency, or a whole province)."""
    if scope.regency is None:
        return region_keys // 100 == scope.province
    return region_keys == scope.key


# Per probe code, the distances and FAISS ids of its nearest enrolled codes (-1: none).
_Hits = tuple[NDArray[np.int32], NDArray[np.int64]]


class BinaryIdentifier(Generic[T]):
    """A thread-safe 1:N identifier over any modality's fixed-length binary codes."""

    def __init__(
        self,
        *,
        encoder: FixedLengthEncoder[T],
        codec: TemplateCodec[T],
        comparator: Callable[[T, T], float],
        calibration: ScoreCalibration,
        fuse: Callable[[Sequence[float]], float] = product_fmr,
        settings: IndexSettings | None = None,
        ivf_centroids: NDArray[np.uint8] | None = None,
        coarse_probe: Callable[[T], T] | None = None,
        score_stored: Callable[[T, Sequence[bytes]], NDArray[np.float64]] | None = None,
    ) -> None:
        self.encoder = encoder
        self.codec = codec
        self.comparator = comparator
        self.calibration = calibration
        self.fuse = fuse
        # A cheaper stand-in for a probe template, compared with the whole shortlist before
        # the exact comparison of the best (see `IndexSettings.rerank_exact`).
        self.coarse_probe = coarse_probe
        # The comparator applied to stored templates (the codec's bytes) in one call, when
        # the modality has it: no decoding and no Python call per candidate.
        self.score_stored = score_stored
        self.settings = settings or IndexSettings()
        self._lock = ReadWriteLock()
        self._buckets: dict[int, faiss.IndexBinary] = {}
        self._persons: dict[int, _Person] = {}
        self._region_persons: dict[int, int] = {}  # persons per region: FPIR's N
        self._last_event_id = 0
        self._bits = encoder.code_bytes * 8
        # IVF centroids are trained once and shared by every bucket (kept alive here).
        self._quantizer: faiss.IndexBinaryFlat | None = None
        if self.settings.index_type == "ivf":
            if ivf_centroids is None:
                raise ValueError("an IVF index needs centroids (see train_ivf_centroids)")
            self._quantizer = faiss.IndexBinaryFlat(self._bits)
            self._quantizer.add(np.ascontiguousarray(ivf_centroids, dtype=np.uint8))

    # ------------------------------------------------------------------ state

    @property
    def last_event_id(self) -> int:
        """The id of the last database event applied; replay starts after it."""
        return self._last_event_id

    def __len__(self) -> int:
        return len(self._persons)

    def __contains__(self, person_id: object) -> bool:
        return person_id in self._persons

    @property
    def samples(self) -> int:
        """Enrolled samples (fingers or eyes) across all persons."""
        with self._lock.read():
            return sum(len(p.positions) for p in self._persons.values())

    @property
    def codes(self) -> int:
        """Codes held by FAISS across all buckets."""
        with self._lock.read():
            return sum(b.ntotal for b in self._buckets.values())

    def persons_in(self, scope: RegionCode | None) -> int:
        """Persons a search with this scope compares against (the N of FPIR ≈ N × FMR)."""
        with self._lock.read():
            return self._count(scope)

    def memory_bytes(self) -> int:
        """Bytes held by the gallery: FAISS codes and ids, templates, Python bookkeeping."""
        with self._lock.read():
            codes = sum(b.ntotal for b in self._buckets.values())
            per_code = self.encoder.code_bytes + 8  # the code and its id (flat or IVF lists)
            templates = sum(
                sum(sys.getsizeof(t) for t in p.templates)
                + sys.getsizeof(p.templates)
                + sys.getsizeof(p.positions)
                + sys.getsizeof(p.code_counts)
                + 56  # the _Person object
                + 100  # its dict slot and boxed key
                for p in self._persons.values()
            )
            return codes * per_code + templates

    def ivf_centroids(self) -> NDArray[np.uint8] | None:
        """The shared IVF centroids (stored in snapshots so lists stay meaningful)."""
        if self._quantizer is None:
            return None
        quantizer: Any = self._quantizer
        return faiss.vector_to_array(quantizer.xb).reshape(-1, self.encoder.code_bytes)

    # ----------------------------------------------------------------- writes

    def upsert(self, enrolment: Enrolment[T], *, event_id: int | None = None) -> None:
        """Enrol or replace a person; encoding happens before the write lock is taken."""
        positions, codes, code_ids, blobs = self._encode_enrolment(enrolment)
        counts = tuple(int((code_ids == _row_id(enrolment.person_id, p)).sum()) for p in positions)
        key = enrolment.region.key
        with self._lock.write():
            self._drop(enrolment.person_id)
            if len(codes):
                ids = _faiss_ids(key, _codes_of_sample(code_ids), code_ids)
                self._bucket(key).add_with_ids(codes, ids)
            self._persons[enrolment.person_id] = _Person(
                region_key=enrolment.region.key,
                positions=positions,
                templates=blobs,
                code_counts=counts,
            )
            self._region_persons[key] = self._region_persons.get(key, 0) + 1
            self._advance(event_id)

    def remove(self, person_id: int, *, event_id: int | None = None) -> None:
        """Forget a person (idempotent: removing an unknown id is a no-op, as in replays)."""
        with self._lock.write():
            self._drop(person_id)
            self._advance(event_id)

    def apply(self, events: Iterable[IndexEvent[T]]) -> int:
        """Replay database events in order, skipping those already applied; returns applied."""
        applied = 0
        for event in events:
            if event.event_id <= self._last_event_id:
                continue
            if event.enrolment is None:
                self.remove(event.person_id, event_id=event.event_id)
            else:
                self.upsert(event.enrolment, event_id=event.event_id)
            applied += 1
        return applied

    def mark_applied(self, event_id: int) -> None:
        """Record that the gallery reflects every event up to `event_id` (after a rebuild
        read the database as of that event)."""
        with self._lock.write():
            self._advance(event_id)

    def bulk_load(self, rows: GalleryRows, *, progress: ProgressCallback | None = None) -> None:
        """Load pre-encoded rows into an empty index: snapshots and large rebuilds."""
        person_ids = np.asarray(rows.person_ids, dtype=np.int64)
        region_keys = np.asarray(rows.region_keys, dtype=np.int64)
        code_ids = np.asarray(rows.code_ids, dtype=np.int64)
        # Region of each code through its person (samples are sorted by person).
        order = np.argsort(person_ids, kind="stable")
        slot = np.searchsorted(person_ids[order], code_ids // POSITIONS)
        code_keys = region_keys[order][np.minimum(slot, len(order) - 1)] if len(order) else slot
        with self._lock.write():
            if self._persons:
                raise ValueError("bulk_load needs an empty index")
            faiss_ids = _faiss_ids(code_keys, _codes_of_sample(code_ids), code_ids)
            buckets = code_keys if self.settings.layout == "regency" else np.zeros_like(code_keys)
            for key in np.unique(buckets):
                sel = np.flatnonzero(buckets == key)
                self._bucket(int(key)).add_with_ids(
                    np.ascontiguousarray(rows.codes[sel]), np.ascontiguousarray(faiss_ids[sel])
                )
            # Codes per sample (a sample without codes, e.g. too few minutiae, holds none).
            coded, per_coded = np.unique(code_ids, return_counts=True)
            coded, per_coded = np.r_[coded, -1], np.r_[per_coded, 0]
            sample_rows = person_ids * POSITIONS + np.asarray(rows.positions, dtype=np.int64)
            at = np.searchsorted(coded[:-1], sample_rows)
            sample_counts = np.where(coded[at] == sample_rows, per_coded[at], 0).tolist()
            starts = np.flatnonzero(np.r_[True, person_ids[1:] != person_ids[:-1]])
            ends = np.r_[starts[1:], len(person_ids)].astype(np.int64)
            positions = np.asarray(rows.positions, dtype=np.int64).tolist()
            for n, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
                key = int(region_keys[start])
                self._region_persons[key] = self._region_persons.get(key, 0) + 1
                self._persons[int(person_ids[start])] = _Person(
                    region_key=key,
                    positions=tuple(positions[start:end]),
                    templates=tuple(rows.templates[start:end]),
                    code_counts=tuple(sample_counts[start:end]),
                )
                if progress is not None and n % 10_000 == 0:
                    progress(n, len(starts))
            self._last_event_id = rows.last_event_id
        if progress is not None:
            progress(len(starts), len(starts))

    def export_rows(self) -> GalleryRows:
        """A consistent copy of the whole gallery (taken under the read lock) for snapshots."""
        with self._lock.read():
            id_parts, code_parts = [], []
            for bucket in self._buckets.values():
                if bucket.ntotal:
                    ids, codes = self._bucket_rows(bucket)
                    id_parts.append(ids & ROW_MASK)
                    code_parts.append(codes)
            person_ids: list[int] = []
            region_keys: list[int] = []
            positions: list[int] = []
            templates: list[bytes] = []
            for pid, person in self._persons.items():
                person_ids.extend([pid] * len(person.positions))
                region_keys.extend([person.region_key] * len(person.positions))
                positions.extend(person.positions)
                templates.extend(person.templates)
            cb = self.encoder.code_bytes
            return GalleryRows(
                person_ids=np.array(person_ids, dtype=np.int64),
                region_keys=np.array(region_keys, dtype=np.int64),
                positions=np.array(positions, dtype=np.int64),
                templates=templates,
                code_ids=np.concatenate(id_parts) if id_parts else np.zeros(0, np.int64),
                codes=np.concatenate(code_parts) if code_parts else np.zeros((0, cb), np.uint8),
                last_event_id=self._last_event_id,
            )

    # ----------------------------------------------------------------- search

    def search(
        self,
        probe: Mapping[int, T],
        *,
        region: RegionCode | None = None,
        limit: int = 10,
        fallback: bool = True,
    ) -> SearchResult:
        """Identify a probe (one or more samples by position) among the enrolled persons.

        With a `region`, only persons enrolled there are searched first; unless one of them
        reaches `accept_fpir`, the search widens nationwide (`widened=True`).
        """
        positions, templates, codes = self._encode_probe(probe)
        with self._lock.read():
            hits = self._coarse(codes, region)
            result = self._search(positions, templates, hits, region, limit, widened=False)
            if (
                region is not None
                and fallback
                and not any(c.fpir <= self.settings.accept_fpir for c in result.candidates)
            ):
                if self.settings.layout == "regency":  # the national layout's hits hold all
                    hits = self._coarse(codes, None)
                result = self._search(positions, templates, hits, None, limit, widened=True)
        return result

    def shortlist(self, probe: Mapping[int, T], *, region: RegionCode | None = None) -> list[int]:
        """The persons the coarse stage would send to re-ranking (for recall measurements)."""
        _, _, codes = self._encode_probe(probe)
        with self._lock.read():
            return self._shortlist(self._coarse(codes, region), region)

    # -------------------------------------------------------------- internals

    def _encode_probe(
        self, probe: Mapping[int, T]
    ) -> tuple[list[int], list[T], list[NDArray[np.uint8]]]:
        if not probe:
            raise ProbeError("a probe needs at least one sample")
        positions = list(probe)
        for pos in positions:
            _row_id(0, pos)
        templates = [probe[p] for p in positions]
        codes = [self._codes_of(t, probe=True) for t in templates]
        if not any(len(c) for c in codes):
            raise ProbeError("the probe has no usable features (too few minutiae?)")
        return positions, templates, codes

    def _codes_of(self, template: T, *, probe: bool = False) -> NDArray[np.uint8]:
        """A template's codes as (m, code_bytes) rows. A probe's come from the encoder's
        `encode_probe` when it has one (a probe may send fewer or other codes than an
        enrolment stores), else from `encode`."""
        encode = self.encoder.encode
        if probe:
            encode = getattr(self.encoder, "encode_probe", encode)
        codes = np.asarray(encode(template), dtype=np.uint8)
        return np.ascontiguousarray(codes.reshape(-1, self.encoder.code_bytes))

    def _search(
        self,
        positions: list[int],
        templates: list[T],
        hits: list[_Hits | None],
        scope: RegionCode | None,
        limit: int,
        *,
        widened: bool,
    ) -> SearchResult:
        gallery = self._count(scope)
        persons = self._shortlist(hits, scope)
        # Each person's templates are decoded once, whichever stages compare them.
        decoded: dict[int, dict[int, T]] = {pid: {} for pid in persons}
        exact = persons
        keep = max(self.settings.rerank_exact, limit)
        if self.coarse_probe is not None and self.settings.rerank_exact and len(persons) > keep:
            cheap = [self.coarse_probe(t) for t in templates]

            def first_pass(part: list[int]) -> list[float]:
                return self._scores(part, positions, cheap, decoded).sum(axis=1).tolist()

            first = self._split(first_pass, persons)
            exact = [persons[n] for n in np.argsort(-np.asarray(first), kind="stable")[:keep]]
        scores = self._scores(exact, positions, templates, decoded).tolist()
        candidates = [
            self._candidate(pid, dict(zip(positions, row, strict=True)), gallery)
            for pid, row in zip(exact, scores, strict=True)
        ]
        candidates.sort(key=lambda c: (c.fmr, -c.score))
        return SearchResult(
            candidates=tuple(candidates[:limit]),
            gallery_size=gallery,
            scope=None if widened else scope,
            widened=widened,
            shortlist_size=len(persons),
        )

    def _split(self, work: Callable[[list[int]], list[float]], persons: list[int]) -> list[float]:
        """`work` over the persons, in `rerank_threads` slices at once (the comparator
        releases the GIL) or on the caller's thread."""
        threads = min(self.settings.rerank_threads, len(persons))
        if threads <= 1:
            return work(persons)
        step = -(-len(persons) // threads)
        parts = [persons[a : a + step] for a in range(0, len(persons), step)]
        return [s for part in _rerank_pool(threads).map(work, parts) for s in part]

    def _coarse(
        self, codes: list[NDArray[np.uint8]], scope: RegionCode | None
    ) -> list[_Hits | None]:
        """Each probe sample's nearest enrolled codes (None for a sample without codes), from
        the buckets a search with this scope scans."""
        keys = self._bucket_keys(scope)
        hits: list[_Hits | None] = []
        for sample_codes in codes:
            if not len(sample_codes):
                hits.append(None)
                continue
            k = max(self.settings.neighbours, -(-self.settings.shortlist // len(sample_codes)))
            hits.append(self._nearest(sample_codes, keys, k))
        return hits

    def _shortlist(self, hits: list[_Hits | None], scope: RegionCode | None) -> list[int]:
        """Persons owning the best-voted samples of each probe sample, best first; only
        samples enrolled inside `scope` vote."""
        persons: dict[int, None] = {}
        for hit in hits:
            if hit is None:
                continue
            dist, ids = hit
            if scope is not None and self.settings.layout == "national":
                ids = np.where(_in_scope(ids >> REGION_SHIFT, scope), ids, -1)
            samples, votes = _votes(dist, ids, self._bits / 2.0)
            if self.settings.vote_count_power:
                counts = np.maximum((samples >> COUNT_SHIFT) & COUNT_CAP, 1)
                votes = votes / counts**self.settings.vote_count_power
            samples &= ROW_MASK
            best = np.argsort(-votes, kind="stable")[: self.settings.shortlist]
            for row in samples[best[votes[best] > 0]].tolist():
                persons.setdefault(row // POSITIONS, None)
        return list(persons)

    def _scores(
        self,
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
                    list(self._sample_scores(pid, positions, templates, decoded[pid]).values())
                    for pid in persons
                ],
                dtype=np.float64,
            ).reshape(len(persons), len(positions))
        out = np.full((len(persons), len(positions)), -np.inf)
        for column, (pos, template) in enumerate(zip(positions, templates, strict=True)):
            owners: list[int] = []
            stored: list[bytes] = []
            for n, pid in enumerate(persons):
                person = self._persons[pid]
                if pos != 0 and pos in person.positions:
                    owners.append(n)
                    stored.append(person.templates[person.positions.index(pos)])
                else:
                    owners.extend([n] * len(person.templates))
                    stored.extend(person.templates)
            np.maximum.at(out[:, column], owners, self.score_stored(template, stored))
        return out

    def _sample_scores(
        self, person_id: int, positions: list[int], templates: list[T], decoded: dict[int, T]
    ) -> dict[int, float]:
        """The probe's score per sample position against one person; `decoded` caches the
        person's templates (a compact codec prepares each again, ~1 ms), so samples the probe
        does not need are never decoded."""
        person = self._persons[person_id]

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

    def _candidate(self, person_id: int, scores: dict[int, float], gallery: int) -> Candidate:
        fmr = self.fuse([self.calibration.fmr(s) for s in scores.values()])
        return Candidate(
            person_id=person_id,
            region=RegionCode.from_key(self._persons[person_id].region_key),
            score=float(sum(scores.values())),
            fmr=fmr,
            fpir=min(1.0, gallery * fmr),
            sample_scores=scores,
        )

    def _nearest(self, codes: NDArray[np.uint8], keys: list[int], k: int) -> _Hits:
        """Per probe code, the distances and FAISS ids of its `k` nearest codes across
        buckets."""
        dists, ids = [], []
        assigned = None
        if self._quantizer is not None:  # assign probe codes to lists once, not per bucket
            nprobe = min(self.settings.ivf_probe, self._quantizer.ntotal)
            assigned = self._quantizer.search(codes, nprobe)
        for key in keys:
            bucket: Any = self._buckets[key]
            if not bucket.ntotal:
                continue
            kk = min(k, bucket.ntotal)
            if assigned is None:
                d, i = bucket.search(codes, kk)
            else:
                d, i = bucket.search_preassigned(codes, kk, assigned[1], assigned[0])
            dists.append(d)
            ids.append(i)
        if not ids:
            return np.zeros((len(codes), 0), np.int32), np.zeros((len(codes), 0), np.int64)
        all_d = np.concatenate(dists, axis=1)
        all_i = np.concatenate(ids, axis=1)
        if all_d.shape[1] > k:
            top = np.argpartition(all_d, k - 1, axis=1)[:, :k]
            all_d = np.take_along_axis(all_d, top, axis=1)
            all_i = np.take_along_axis(all_i, top, axis=1)
        return all_d, all_i

    def _bucket_keys(self, scope: RegionCode | None) -> list[int]:
        """The buckets a search scans: all of them, or a regency layout's in scope."""
        if scope is None or self.settings.layout == "national":
            return list(self._buckets)
        keys = np.fromiter(self._buckets, dtype=np.int64, count=len(self._buckets))
        return keys[_in_scope(keys, scope)].tolist()

    def _bucket_key(self, region_key: int) -> int:
        return region_key if self.settings.layout == "regency" else NATIONAL

    def _count(self, scope: RegionCode | None) -> int:
        """Persons enrolled inside `scope` (everyone for None)."""
        if scope is None:
            return len(self._persons)
        keys = np.fromiter(self._region_persons, dtype=np.int64, count=len(self._region_persons))
        counts = np.fromiter(self._region_persons.values(), dtype=np.int64, count=len(keys))
        return int(counts[_in_scope(keys, scope)].sum())

    def _encode_enrolment(
        self, enrolment: Enrolment[T]
    ) -> tuple[tuple[int, ...], NDArray[np.uint8], NDArray[np.int64], tuple[bytes, ...]]:
        if not enrolment.samples:
            raise ProbeError("an enrolment needs at least one sample")
        positions = tuple(sorted(enrolment.samples))
        parts = [self._codes_of(enrolment.samples[p]) for p in positions]
        code_ids = np.concatenate(
            [
                np.full(len(c), _row_id(enrolment.person_id, p), dtype=np.int64)
                for p, c in zip(positions, parts, strict=True)
            ]
        )
        blobs = tuple(self.codec.to_bytes(enrolment.samples[p]) for p in positions)
        return positions, np.ascontiguousarray(np.concatenate(parts)), code_ids, blobs

    def _drop(self, person_id: int) -> None:
        person = self._persons.pop(person_id, None)
        if person is None:
            return
        self._region_persons[person.region_key] -= 1
        rows = np.array([_row_id(person_id, p) for p in person.positions], dtype=np.int64)
        bucket = self._buckets.get(self._bucket_key(person.region_key))
        if bucket is not None:
            ids = _faiss_ids(person.region_key, person.code_counts, rows)
            bucket.remove_ids(faiss.IDSelectorBatch(ids))

    def _advance(self, event_id: int | None) -> None:
        if event_id is not None:
            self._last_event_id = max(self._last_event_id, event_id)

    def _bucket(self, region_key: int) -> faiss.IndexBinary:
        """The bucket holding a region's codes (created on first use)."""
        key = self._bucket_key(region_key)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._new_bucket()
            self._buckets[key] = bucket
        return bucket

    def _new_bucket(self) -> faiss.IndexBinary:
        """Flat scans sit behind an id map (ids may repeat: several codes per sample); IVF
        lists carry the ids themselves (an id map over IVF would desynchronise on removal,
        since IVF does not renumber rows)."""
        if self._quantizer is None:
            return faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(self._bits))
        nlist = self._quantizer.ntotal
        ivf = faiss.IndexBinaryIVF(self._quantizer, self._bits, nlist)
        ivf.is_trained = True
        ivf.nprobe = min(self.settings.ivf_probe, nlist)
        # FAISS's counting scan finds the same nearest distances as its heap scan, faster
        # (100k fingers, 24 probe codes, 128 of 4096 lists: 36 vs 40 ms at k = 100, 39 vs
        # 50 ms at k = 200). It reads max_codes = 0 as a budget of none rather than no limit
        # (in faiss 1.15 every search then comes back empty), hence the explicit budget.
        ivf.use_heap = False
        ivf.max_codes = 1 << 62
        return ivf

    def _bucket_rows(self, bucket: Any) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
        cb = self.encoder.code_bytes
        if isinstance(bucket, faiss.IndexBinaryIDMap):
            ids = faiss.vector_to_array(bucket.id_map).astype(np.int64)
            flat: Any = faiss.downcast_IndexBinary(bucket.index)
            return ids, faiss.vector_to_array(flat.xb).reshape(-1, cb)
        invlists = bucket.invlists
        id_parts, code_parts = [], []
        for lst in range(invlists.nlist):
            size = invlists.list_size(lst)
            if size:
                id_parts.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
                raw = faiss.rev_swig_ptr(invlists.get_codes(lst), size * cb)
                code_parts.append(raw.reshape(size, cb).copy())
        return np.concatenate(id_parts).astype(np.int64), np.concatenate(code_parts)


def _votes(
    dist: NDArray[np.int32], ids: NDArray[np.int64], unrelated: float
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Voted sample ids and their votes: each probe code gives each sample at most one vote,
    weighted by how much closer than an unrelated code its nearest code of that sample is."""
    q = np.repeat(np.arange(dist.shape[0]), dist.shape[1])
    d = dist.ravel().astype(np.float64)
    i = ids.ravel()
    valid = i >= 0
    q, d, i = q[valid], d[valid], i[valid]
    # Nearest code of each (probe code, sample) first, then keep that one.
    order = np.lexsort((d, i, q))
    q, d, i = q[order], d[order], i[order]
    first = np.r_[True, (q[1:] != q[:-1]) | (i[1:] != i[:-1])]
    weights = np.maximum(0.0, unrelated - d[first])
    samples, inverse = np.unique(i[first], return_inverse=True)
    votes = np.bincount(inverse, weights=weights, minlength=len(samples)).astype(np.float64)
    return samples, votes


def train_ivf_centroids(codes: NDArray[np.uint8], lists: int) -> NDArray[np.uint8]:
    """Binary k-means centroids for IVF buckets, learned once from a sample of codes."""
    bits = codes.shape[1] * 8
    nlist = max(1, min(lists, len(codes) // 39))  # FAISS wants ≥ 39 training points a list
    trainer = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(bits), bits, nlist)
    trainer.train(np.ascontiguousarray(codes, dtype=np.uint8))
    centroids: Any = faiss.downcast_IndexBinary(trainer.quantizer)
    return faiss.vector_to_array(centroids.xb).reshape(-1, codes.shape[1]).copy()
