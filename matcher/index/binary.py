"""The FAISS-backed identifier: binary codes in a national index, exact re-ranking, fusion.

Layout. A FAISS id packs the sample's region key, code count and row (`matcher.index.ids`).
By default every code sits in one national index and a search scoped to a region keeps only
the neighbours whose id carries a region inside it (FAISS's binary IVF takes no id
selector); `IndexSettings.layout = "regency"` keeps one index per regency instead, so a
scoped search scans only its own. Templates are held as their codec's bytes and decoded
only for the shortlist.

Decision. The probe's codes vote for enrolled samples (`matcher.index.voting`), the
best-voted samples' persons are re-ranked (`matcher.index.rerank`), per-sample scores
become false match rates through the calibration and are fused by the injected rule (the
fingerprint index uses Fisher's method), and FPIR = min(1, N × FMR) with N the number of
persons searched. The stages are public (`nearest`, `rescore`, `decide`), so a gallery
split across shards (each shard one identifier with the same IVF centroids) merges their
hits and scores into the decision one identifier would take.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic

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
from matcher.index.buckets import bucket_rows, new_bucket, search_bucket
from matcher.index.gallery import GalleryRows, StoredPerson
from matcher.index.ids import (
    NATIONAL,
    POSITIONS,
    ROW_MASK,
    codes_of_sample,
    faiss_ids,
    in_scope,
    row_id,
)
from matcher.index.rerank import Reranker, Rescored
from matcher.index.rwlock import ReadWriteLock
from matcher.index.settings import IndexSettings
from matcher.index.voting import Hits, empty_hits, nearest_of, neighbours_per_code, shortlist


def product_fmr(fmrs: Sequence[float]) -> float:
    """Product rule for independent samples (fingerprint uses Fisher's method instead)."""
    return math.prod(fmrs) if fmrs else 1.0


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
        self.calibration = calibration
        self.fuse = fuse
        self.settings = settings or IndexSettings()
        # `coarse_probe`: a cheaper stand-in for a probe template, compared with the whole
        # shortlist before the exact comparison of the best (`IndexSettings.rerank_exact`);
        # `score_stored`: the comparator applied to stored templates (the codec's bytes) in
        # one call, when the modality has it: no decoding and no Python call per candidate.
        self.reranker = Reranker(
            codec=codec,
            comparator=comparator,
            coarse_probe=coarse_probe,
            score_stored=score_stored,
            threads=self.settings.rerank_threads,
        )
        self._lock = ReadWriteLock()
        self._buckets: dict[int, faiss.IndexBinary] = {}
        self._persons: dict[int, StoredPerson] = {}
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

    def region_census(self) -> dict[int, int]:
        """Persons enrolled per region key (a shard reports which regions it holds)."""
        with self._lock.read():
            return {k: n for k, n in self._region_persons.items() if n}

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
                + 56  # the StoredPerson object
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

    def ivf_list_sizes(self) -> NDArray[np.int64] | None:
        """Codes held in each IVF list over every bucket (None for a flat index): the share
        of the gallery a probe scans is the sizes of the lists it visits over the total."""
        if self._quantizer is None:
            return None
        sizes = np.zeros(self._quantizer.ntotal, np.int64)
        with self._lock.read():
            for bucket in self._buckets.values():
                if isinstance(bucket, faiss.IndexBinaryIVF):
                    lists = bucket.invlists
                    sizes += [lists.list_size(i) for i in range(lists.nlist)]
        return sizes

    def set_ivf_probe(self, lists: int) -> None:
        """Scan `lists` IVF lists per probe code from now on: recall against time, tuned on
        a loaded gallery without rebuilding it."""
        with self._lock.write():
            self.settings = dataclasses.replace(self.settings, ivf_probe=lists)
            for bucket in self._buckets.values():
                if isinstance(bucket, faiss.IndexBinaryIVF):
                    bucket.nprobe = min(lists, bucket.nlist)

    # ----------------------------------------------------------------- writes

    def upsert(self, enrolment: Enrolment[T], *, event_id: int | None = None) -> None:
        """Enrol or replace a person; encoding happens before the write lock is taken."""
        positions, codes, code_ids, blobs = self._encode_enrolment(enrolment)
        counts = tuple(int((code_ids == row_id(enrolment.person_id, p)).sum()) for p in positions)
        key = enrolment.region.key
        with self._lock.write():
            self._drop(enrolment.person_id)
            if len(codes):
                ids = faiss_ids(key, codes_of_sample(code_ids), code_ids)
                self._bucket(key).add_with_ids(codes, ids)
            self._persons[enrolment.person_id] = StoredPerson(
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
            code_faiss_ids = faiss_ids(code_keys, codes_of_sample(code_ids), code_ids)
            buckets = code_keys if self.settings.layout == "regency" else np.zeros_like(code_keys)
            for key in np.unique(buckets):
                sel = np.flatnonzero(buckets == key)
                self._bucket(int(key)).add_with_ids(
                    np.ascontiguousarray(rows.codes[sel]), np.ascontiguousarray(code_faiss_ids[sel])
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
                self._persons[int(person_ids[start])] = StoredPerson(
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
                    ids, codes = bucket_rows(bucket, self.encoder.code_bytes)
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
        positions, templates, codes = self.encode_probe(probe)
        with self._lock.read():
            hits = self._coarse(codes, region)
            result = self._search(positions, templates, hits, region, limit, widened=False)
            if region is not None and fallback and not self.accepts(result):
                if self.settings.layout == "regency":  # the national layout's hits hold all
                    hits = self._coarse(codes, None)
                result = self._search(positions, templates, hits, None, limit, widened=True)
        return result

    def shortlist(self, probe: Mapping[int, T], *, region: RegionCode | None = None) -> list[int]:
        """The persons the coarse stage would send to re-ranking (for recall measurements)."""
        _, _, codes = self.encode_probe(probe)
        with self._lock.read():
            return shortlist(self._coarse(codes, region), region, self.settings, self._bits)

    def accepts(self, result: SearchResult) -> bool:
        """Whether a scoped search found someone good enough not to widen nationwide."""
        return any(c.fpir <= self.settings.accept_fpir for c in result.candidates)

    # -------------------------------------------- stages (shared with sharded search)

    def encode_probe(
        self, probe: Mapping[int, T]
    ) -> tuple[list[int], list[T], list[NDArray[np.uint8]]]:
        """Positions, templates and codes of a probe's samples (ProbeError when unusable)."""
        if not probe:
            raise ProbeError("a probe needs at least one sample")
        positions = list(probe)
        for pos in positions:
            row_id(0, pos)
        templates = [probe[p] for p in positions]
        codes = [self._codes_of(t, probe=True) for t in templates]
        if not any(len(c) for c in codes):
            raise ProbeError("the probe has no usable features (too few minutiae?)")
        return positions, templates, codes

    def nearest(self, codes: list[NDArray[np.uint8]]) -> list[Hits | None]:
        """The coarse stage of a national search on this gallery: each probe sample's
        nearest enrolled codes (None for a sample without codes)."""
        with self._lock.read():
            return self._coarse(codes, None)

    def shortlist_of(self, hits: Sequence[Hits | None], scope: RegionCode | None) -> list[int]:
        """The persons these hits vote onto the shortlist."""
        return shortlist(hits, scope, self.settings, self._bits)

    def two_pass_keep(self, shortlisted: int, limit: int) -> int | None:
        """How many persons the exact pass keeps after the cheap one; None: one pass."""
        keep = max(self.settings.rerank_exact, limit)
        if self.reranker.coarse_probe is None or not self.settings.rerank_exact:
            return None
        return keep if shortlisted > keep else None

    def rescore(
        self, persons: list[int], positions: list[int], templates: list[T], keep: int | None
    ) -> Rescored:
        """Re-rank the shortlisted persons this gallery holds (others are skipped)."""
        with self._lock.read():
            held = [p for p in persons if p in self._persons]
            return self.reranker.rescore(self._persons, held, positions, templates, keep)

    def decide(
        self,
        rescored: Rescored,
        keep: int | None,
        positions: list[int],
        *,
        gallery: int,
        scope: RegionCode | None,
        widened: bool,
        limit: int,
        shortlist_size: int,
    ) -> SearchResult:
        """Candidates from the exact scores, best first, with FPIR over `gallery` persons."""
        candidates = [
            self._candidate(
                pid,
                dict(zip(positions, rescored.exact[pid], strict=True)),
                rescored.regions[pid],
                gallery,
            )
            for pid in rescored.exact_persons(keep)
        ]
        candidates.sort(key=lambda c: (c.fmr, -c.score, c.person_id))
        return SearchResult(
            candidates=tuple(candidates[:limit]),
            gallery_size=gallery,
            scope=None if widened else scope,
            widened=widened,
            shortlist_size=shortlist_size,
        )

    # -------------------------------------------------------------- internals

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
        hits: list[Hits | None],
        scope: RegionCode | None,
        limit: int,
        *,
        widened: bool,
    ) -> SearchResult:
        persons = shortlist(hits, scope, self.settings, self._bits)
        keep = self.two_pass_keep(len(persons), limit)
        rescored = self.reranker.rescore(self._persons, persons, positions, templates, keep)
        return self.decide(
            rescored,
            keep,
            positions,
            gallery=self._count(scope),
            scope=scope,
            widened=widened,
            limit=limit,
            shortlist_size=len(persons),
        )

    def _candidate(
        self, person_id: int, scores: dict[int, float], region_key: int, gallery: int
    ) -> Candidate:
        fmr = self.fuse([self.calibration.fmr(s) for s in scores.values()])
        return Candidate(
            person_id=person_id,
            region=RegionCode.from_key(region_key),
            score=float(sum(scores.values())),
            fmr=fmr,
            fpir=min(1.0, gallery * fmr),
            sample_scores=scores,
        )

    def _coarse(
        self, codes: list[NDArray[np.uint8]], scope: RegionCode | None
    ) -> list[Hits | None]:
        """Each probe sample's nearest enrolled codes (None for a sample without codes), from
        the buckets a search with this scope scans."""
        keys = self._bucket_keys(scope)
        hits: list[Hits | None] = []
        for sample_codes in codes:
            if not len(sample_codes):
                hits.append(None)
                continue
            k = neighbours_per_code(self.settings, len(sample_codes))
            hits.append(self._nearest(sample_codes, keys, k))
        return hits

    def _nearest(self, codes: NDArray[np.uint8], keys: list[int], k: int) -> Hits:
        """Per probe code, the distances and FAISS ids of its `k` nearest codes across
        buckets."""
        assigned = None
        if self._quantizer is not None:  # assign probe codes to lists once, not per bucket
            nprobe = min(self.settings.ivf_probe, self._quantizer.ntotal)
            assigned = self._quantizer.search(codes, nprobe)
        # Twice the neighbours are fetched and the nearest k kept with ties broken by id:
        # FAISS breaks ties at the k-th distance by its scan order, which a gallery split
        # across shards cannot reproduce, so every split keeps the same codes this way
        # (unless more than k codes tie at that distance).
        parts = [
            search_bucket(self._buckets[key], codes, 2 * k, assigned)
            for key in keys
            if self._buckets[key].ntotal
        ]
        if not parts:
            return empty_hits(len(codes))
        return nearest_of(parts, k)

    def _bucket_keys(self, scope: RegionCode | None) -> list[int]:
        """The buckets a search scans: all of them, or a regency layout's in scope."""
        if scope is None or self.settings.layout == "national":
            return list(self._buckets)
        keys = np.fromiter(self._buckets, dtype=np.int64, count=len(self._buckets))
        return keys[in_scope(keys, scope)].tolist()

    def _bucket_key(self, region_key: int) -> int:
        return region_key if self.settings.layout == "regency" else NATIONAL

    def _count(self, scope: RegionCode | None) -> int:
        """Persons enrolled inside `scope` (everyone for None)."""
        if scope is None:
            return len(self._persons)
        keys = np.fromiter(self._region_persons, dtype=np.int64, count=len(self._region_persons))
        counts = np.fromiter(self._region_persons.values(), dtype=np.int64, count=len(keys))
        return int(counts[in_scope(keys, scope)].sum())

    def _encode_enrolment(
        self, enrolment: Enrolment[T]
    ) -> tuple[tuple[int, ...], NDArray[np.uint8], NDArray[np.int64], tuple[bytes, ...]]:
        if not enrolment.samples:
            raise ProbeError("an enrolment needs at least one sample")
        positions = tuple(sorted(enrolment.samples))
        parts = [self._codes_of(enrolment.samples[p]) for p in positions]
        code_ids = np.concatenate(
            [
                np.full(len(c), row_id(enrolment.person_id, p), dtype=np.int64)
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
        rows = np.array([row_id(person_id, p) for p in person.positions], dtype=np.int64)
        bucket = self._buckets.get(self._bucket_key(person.region_key))
        if bucket is not None:
            ids = faiss_ids(person.region_key, person.code_counts, rows)
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
        return new_bucket(self._bits, self._quantizer, self.settings)
