"""The FAISS identifier: found after add, gone after remove, regions, fusion, concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from matcher.fingerprint.compare import PreparedTemplate
from matcher.index.base import Enrolment, IndexEvent, IndexFailure, ProbeError, RegionCode
from matcher.index.binary import BinaryIdentifier
from matcher.index.buckets import train_ivf_centroids
from matcher.index.fingerprint import fingerprint_identifier
from matcher.index.ids import ROW_MASK
from matcher.index.local_codes import LocalCodeEncoder
from matcher.index.settings import IndexSettings, Layout

from .conftest import Finger

Make = Callable[..., BinaryIdentifier[PreparedTemplate]]
JAKARTA = RegionCode(31, 71)
BANDUNG = RegionCode(32, 73)


def _enrol(ident: BinaryIdentifier[PreparedTemplate], fingers: list[Finger], n: int) -> None:
    for i in range(n):
        region = JAKARTA if i % 2 == 0 else BANDUNG
        ident.upsert(Enrolment(i, region, {2: fingers[i].enrolled}), event_id=i + 1)


def test_added_person_is_found_with_calibrated_fpir(
    make_identifier: Make, fingers: list[Finger], stranger: PreparedTemplate
) -> None:
    ident = make_identifier()
    _enrol(ident, fingers, 20)
    assert len(ident) == 20 and ident.last_event_id == 20
    for i in (0, 7, 19):
        result = ident.search({2: fingers[i].probe})
        best = result.candidates[0]
        assert best.person_id == i
        assert best.fpir == pytest.approx(min(1.0, 20 * best.fmr))
        assert best.fpir < 1e-3
    stranger_best = ident.search({2: stranger}).candidates[0]
    assert stranger_best.fmr > ident.search({2: fingers[3].probe}).candidates[0].fmr


def test_removed_person_is_never_returned(make_identifier: Make, fingers: list[Finger]) -> None:
    ident = make_identifier()
    _enrol(ident, fingers, 12)
    ident.remove(5, event_id=13)
    ident.remove(5, event_id=14)  # idempotent, as a replay may repeat it
    assert 5 not in ident
    for probe in (fingers[5].probe, fingers[5].enrolled):
        assert all(c.person_id != 5 for c in ident.search({2: probe}, limit=50).candidates)
    assert ident.last_event_id == 14


def test_update_replaces_the_template(make_identifier: Make, fingers: list[Finger]) -> None:
    ident = make_identifier()
    _enrol(ident, fingers, 10)
    ident.upsert(Enrolment(3, JAKARTA, {2: fingers[15].enrolled}))
    assert ident.search({2: fingers[15].probe}).candidates[0].person_id == 3
    assert all(c.person_id != 3 for c in ident.search({2: fingers[3].probe}).candidates[:1])
    assert ident.samples == 10


def test_two_fingers_fuse_to_a_lower_fmr(make_identifier: Make, fingers: list[Finger]) -> None:
    ident = make_identifier()
    for person in range(8):
        left, right = fingers[2 * person], fingers[2 * person + 1]
        ident.upsert(Enrolment(person, JAKARTA, {2: left.enrolled, 7: right.enrolled}))
    both = ident.search({2: fingers[6].probe, 7: fingers[7].probe}).candidates[0]
    one = ident.search({2: fingers[6].probe}).candidates[0]
    assert both.person_id == one.person_id == 3
    assert set(both.sample_scores) == {2, 7}
    assert both.fmr <= one.fmr


@pytest.mark.parametrize("layout", ["national", "regency"])
def test_region_scope_excludes_other_regions_and_widens(
    make_identifier: Make, fingers: list[Finger], layout: Layout
) -> None:
    ident = make_identifier(layout=layout)
    _enrol(ident, fingers, 16)
    bandung_person = 3  # odd ids live in Bandung
    scoped = ident.search({2: fingers[bandung_person].probe}, region=JAKARTA, fallback=False)
    assert scoped.candidates
    assert all(c.region == JAKARTA for c in scoped.candidates)
    assert scoped.gallery_size == 8 and not scoped.widened
    province = ident.search(
        {2: fingers[bandung_person].probe}, region=RegionCode(32), fallback=False
    )
    assert province.candidates[0].person_id == bandung_person
    widened = ident.search({2: fingers[bandung_person].probe}, region=JAKARTA)
    assert widened.widened and widened.gallery_size == 16
    assert widened.candidates[0].person_id == bandung_person


@pytest.mark.parametrize("layout", ["national", "regency"])
def test_a_person_who_moves_is_searched_in_the_new_region_only(
    make_identifier: Make, fingers: list[Finger], layout: Layout
) -> None:
    """Moving rewrites the person's FAISS ids (they carry the region): the old region's
    scoped search no longer returns them, the new one does, and only one copy is held."""
    ident = make_identifier(layout=layout)
    _enrol(ident, fingers, 8)
    codes = ident.codes
    ident.upsert(Enrolment(2, BANDUNG, {2: fingers[2].enrolled}))
    assert ident.codes == codes
    assert ident.persons_in(JAKARTA) == 3 and ident.persons_in(BANDUNG) == 5
    old = ident.search({2: fingers[2].probe}, region=JAKARTA, fallback=False, limit=20)
    assert all(c.person_id != 2 for c in old.candidates)
    new = ident.search({2: fingers[2].probe}, region=BANDUNG, fallback=False)
    assert new.candidates[0].person_id == 2 and new.candidates[0].region == BANDUNG
    ident.remove(2)
    assert ident.codes == codes - len(ident.encoder.encode(fingers[2].enrolled))


def _counting(nearest: Callable[..., Any], calls: list[int]) -> Callable[..., Any]:
    """`_nearest` recording how many buckets each call scans."""

    def counting(codes: np.ndarray, keys: list[int], k: int) -> Any:
        calls.append(len(keys))
        return nearest(codes, keys, k)

    return counting


def test_national_layout_scans_faiss_once_when_a_scoped_search_widens(
    make_identifier: Make, fingers: list[Finger]
) -> None:
    """The national index's neighbours hold every region: the widened search reuses them
    (a regency layout scans again, over every bucket)."""
    scans: dict[str, list[int]] = {}
    for layout in ("national", "regency"):
        ident = make_identifier(layout=layout)
        _enrol(ident, fingers, 16)
        ident._nearest = _counting(ident._nearest, scans.setdefault(layout, []))  # type: ignore[method-assign]
        widened = ident.search({2: fingers[3].probe}, region=JAKARTA)
        assert widened.widened and widened.candidates[0].person_id == 3
    assert scans == {"national": [1], "regency": [1, 2]}


def test_events_replay_in_order_and_skip_applied(
    make_identifier: Make, fingers: list[Finger]
) -> None:
    ident = make_identifier()
    events = [
        IndexEvent(1, 1, Enrolment(1, JAKARTA, {2: fingers[1].enrolled})),
        IndexEvent(2, 2, Enrolment(2, JAKARTA, {2: fingers[2].enrolled})),
        IndexEvent(3, 1, None),
    ]
    assert ident.apply(events) == 3
    assert ident.apply(events) == 0
    assert 1 not in ident and 2 in ident and ident.last_event_id == 3


def test_concurrent_searches_during_adds_stay_consistent(
    make_identifier: Make, fingers: list[Finger]
) -> None:
    ident = make_identifier()
    _enrol(ident, fingers, 6)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(6, len(fingers)):
                ident.upsert(Enrolment(i, BANDUNG, {2: fingers[i].enrolled}))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            stop.set()

    def reader(person: int) -> list[int]:
        tops: list[int] = []
        while not stop.is_set() or len(tops) < 3:
            result = ident.search({2: fingers[person].probe}, limit=3)
            tops.append(result.candidates[0].person_id)
            # every candidate is a fully enrolled person with its template
            assert all(c.person_id in ident for c in result.candidates)
        return tops

    thread = threading.Thread(target=writer)
    with ThreadPoolExecutor(3) as pool:
        thread.start()
        results = list(pool.map(reader, [0, 2, 4]))
    thread.join()
    assert not errors
    for person, tops in zip([0, 2, 4], results, strict=True):
        assert set(tops) == {person}
    assert len(ident) == len(fingers)


def test_compact_templates_find_and_rank_like_prepared(
    make_identifier: Make, fingers: list[Finger]
) -> None:
    prepared, compact = make_identifier(), make_identifier(template_store="compact")
    _enrol(prepared, fingers, 12)
    _enrol(compact, fingers, 12)
    assert compact.memory_bytes() < prepared.memory_bytes() / 3
    for i in (1, 8):
        a = prepared.search({2: fingers[i].probe}).candidates[0]
        b = compact.search({2: fingers[i].probe}).candidates[0]
        assert a.person_id == b.person_id == i
        assert b.score == pytest.approx(a.score, abs=0.02)


def test_rerank_decodes_only_the_fingers_the_probe_has(
    make_identifier: Make, fingers: list[Finger]
) -> None:
    """A compact template costs a preparation to decode: a one-finger probe of a two-finger
    person decodes that finger alone."""
    ident = make_identifier(template_store="compact")
    for person in range(4):
        ident.upsert(
            Enrolment(
                person, JAKARTA, {2: fingers[person].enrolled, 7: fingers[person + 4].enrolled}
            )
        )
    decoded: list[int] = []
    codec = ident.codec
    original = codec.from_bytes

    def counting(data: bytes) -> PreparedTemplate:
        decoded.append(len(data))
        return original(data)

    codec.from_bytes = counting  # type: ignore[method-assign]
    result = ident.search({2: fingers[1].probe})
    assert result.candidates[0].person_id == 1
    assert len(decoded) == result.shortlist_size


def test_two_stage_rerank_compares_only_the_best_exactly(
    make_identifier: Make, fingers: list[Finger]
) -> None:
    """The whole shortlist meets the cheap probe; only the best `rerank_exact` meet the full
    probe, and the candidates returned carry full (exact) scores."""
    ident = make_identifier(shortlist=20, rerank_exact=4)
    _enrol(ident, fingers, 20)
    probe = fingers[6].probe
    full_calls: list[int] = []
    cheap_calls: list[int] = []
    scorer = ident.reranker.score_stored
    assert scorer is not None

    def counting(a: PreparedTemplate, stored: Sequence[bytes]) -> np.ndarray:
        (full_calls if a is probe else cheap_calls).extend([1] * len(stored))
        return scorer(a, stored)

    ident.reranker.score_stored = counting
    result = ident.search({2: probe}, limit=3)
    assert result.shortlist_size > 4
    assert len(cheap_calls) == result.shortlist_size and len(full_calls) == 4
    assert result.candidates[0].person_id == 6
    for c in result.candidates:
        assert c.score == ident.reranker.comparator(probe, fingers[c.person_id].enrolled)
    # A limit above rerank_exact is honoured with exact scores; 0 turns the first pass off.
    full_calls.clear()
    assert len(ident.search({2: probe}, limit=6).candidates) == 6 and len(full_calls) == 6
    one_pass = make_identifier(shortlist=20, rerank_exact=0)
    _enrol(one_pass, fingers, 20)
    one_pass.reranker.score_stored = counting
    full_calls.clear()
    cheap_calls.clear()
    assert one_pass.search({2: probe}).candidates[0].person_id == 6
    assert not cheap_calls and len(full_calls) == one_pass.search({2: probe}).shortlist_size


def test_stored_scorer_ranks_exactly_like_the_comparator(
    make_identifier: Make, fingers: list[Finger]
) -> None:
    """Scoring stored bytes in one compiled call is a speed-up only: two-finger persons,
    a one-finger probe of a two-finger person, and a probe of unknown position (the best of
    the person's fingers) all get the comparator's own scores."""
    fast, slow = (
        make_identifier(shortlist=12, rerank_exact=4),
        make_identifier(shortlist=12, rerank_exact=4),
    )
    slow.reranker.score_stored = None
    for ident in (fast, slow):
        for person in range(8):
            samples = {2: fingers[person].enrolled}
            if person % 2:
                samples[7] = fingers[person + 8].enrolled
            ident.upsert(Enrolment(person, JAKARTA, samples))
    for probe in (
        {2: fingers[3].probe, 7: fingers[11].probe},
        {7: fingers[5].probe},
        {0: fingers[13].probe},
        {2: fingers[4].probe},
    ):
        a, b = fast.search(probe, limit=8), slow.search(probe, limit=8)
        assert [(c.person_id, c.sample_scores) for c in a.candidates] == [
            (c.person_id, c.sample_scores) for c in b.candidates
        ]
    assert fast.search({0: fingers[13].probe}).candidates[0].person_id == 5
    corrupt = fast.codec.to_bytes(fingers[0].enrolled)[:-1]
    with pytest.raises(IndexFailure):
        fast.reranker.score_stored(fingers[0].probe, [corrupt])  # type: ignore[misc]


@pytest.mark.parametrize("layout", ["national", "regency"])
def test_ivf_index_type_finds_mates(
    encoder: LocalCodeEncoder, fingers: list[Finger], layout: Layout
) -> None:
    codes = np.concatenate([encoder.encode(f.enrolled) for f in fingers])

    ident = fingerprint_identifier(
        settings=IndexSettings(index_type="ivf", ivf_lists=8, ivf_probe=4, layout=layout),
        encoder=encoder,
        ivf_centroids=train_ivf_centroids(codes, 8),
    )
    _enrol(ident, fingers, 20)
    assert ident.search({2: fingers[9].probe}).candidates[0].person_id == 9
    scoped = ident.search({2: fingers[9].probe}, region=JAKARTA, fallback=False, limit=20)
    assert scoped.candidates and all(c.region == JAKARTA for c in scoped.candidates)
    # Snapshots store bare sample rows (person_id * 16 + position), whatever the layout.
    rows = ident.export_rows()
    assert set(rows.code_ids.tolist()) == {i * 16 + 2 for i in range(20)}
    assert rows.code_ids.max() <= ROW_MASK
    ident.remove(9)
    assert all(c.person_id != 9 for c in ident.search({2: fingers[9].probe}).candidates)


def test_bad_probes_are_refused(make_identifier: Make, fingers: list[Finger]) -> None:
    ident = make_identifier()
    with pytest.raises(ProbeError):
        ident.search({})
    with pytest.raises(ProbeError):
        ident.search({42: fingers[0].probe})
    # Person ids fill 37 bits of a FAISS id (region and code count sit above them).
    with pytest.raises(ProbeError):
        ident.upsert(Enrolment(1 << 37, JAKARTA, {2: fingers[0].enrolled}))
    ident.upsert(Enrolment((1 << 37) - 1, JAKARTA, {2: fingers[0].enrolled}))
    assert ident.search({2: fingers[0].probe}).candidates[0].person_id == (1 << 37) - 1
