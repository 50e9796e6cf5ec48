"""Snapshots: restart keeps removals, replays later events, refuses bad files and rebuilds."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from matcher.fingerprint.compare import PreparedTemplate
from matcher.index.base import Enrolment, IndexEvent, RegionCode, SnapshotError
from matcher.index.binary import BinaryIdentifier
from matcher.index.fingerprint import fingerprint_identifier
from matcher.index.local_codes import LocalCodeParams
from matcher.index.snapshot import (
    load_snapshot,
    open_identifier,
    read_snapshot,
    save_snapshot,
)
from matcher.index.whitening_training import encoder_for

from .conftest import Finger

Make = Callable[..., BinaryIdentifier[PreparedTemplate]]
REGION = RegionCode(35, 78)


def _factory(make: Make) -> Callable[[np.ndarray | None], BinaryIdentifier[PreparedTemplate]]:
    return lambda _centroids: make()


def _gallery(make: Make, fingers: list[Finger], n: int) -> BinaryIdentifier[PreparedTemplate]:
    ident = make()
    for i in range(n):
        ident.upsert(Enrolment(i, REGION, {2: fingers[i].enrolled}), event_id=i + 1)
    return ident


def test_restart_from_snapshot_keeps_removals_and_replays(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    ident = _gallery(make_identifier, fingers, 10)
    ident.remove(4, event_id=11)
    path = tmp_path / "fp.idx"
    assert save_snapshot(ident, path) == 11
    later = [
        IndexEvent(12, 10, Enrolment(10, REGION, {2: fingers[10].enrolled})),
        IndexEvent(13, 6, None),
    ]
    start = open_identifier(
        snapshot=path,
        factory=_factory(make_identifier),
        events_after=lambda after: [e for e in later if e.event_id > after],
        stored=lambda: pytest.fail("a valid snapshot must not trigger a rebuild"),
    )
    restored = start.identifier
    assert start.source == "snapshot" and start.replayed == 2
    assert restored.last_event_id == 13 and len(restored) == 9
    for gone in (4, 6):
        found = restored.search({2: fingers[gone].probe}, limit=20).candidates
        assert all(c.person_id != gone for c in found)
    assert restored.search({2: fingers[10].probe}).candidates[0].person_id == 10
    assert restored.search({2: fingers[2].probe}).candidates[0].person_id == 2


def test_snapshot_votes_like_the_live_index(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    """Votes are normalised by each finger's code count, which a reload must restore."""
    ident = _gallery(make_identifier, fingers, 16)
    path = tmp_path / "fp.idx"
    save_snapshot(ident, path)
    restored = load_snapshot(path, _factory(make_identifier))
    for i in (0, 5, 11):
        assert restored.shortlist({2: fingers[i].probe}) == ident.shortlist({2: fingers[i].probe})


def test_snapshot_keeps_each_persons_region(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    """Regions travel in the snapshot's region keys, not in FAISS ids: a reload scopes as
    the live index did."""
    ident = make_identifier()
    other = RegionCode(35, 9)
    for i in range(12):
        ident.upsert(Enrolment(i, REGION if i < 8 else other, {2: fingers[i].enrolled}))
    path = tmp_path / "fp.idx"
    save_snapshot(ident, path)
    restored = load_snapshot(path, _factory(make_identifier))
    assert restored.persons_in(other) == 4 and restored.persons_in(RegionCode(35)) == 12
    scoped = restored.search({2: fingers[9].probe}, region=other, fallback=False)
    assert scoped.candidates[0].person_id == 9
    assert {c.person_id for c in scoped.candidates} <= {8, 9, 10, 11}
    assert restored.shortlist({2: fingers[9].probe}, region=REGION) == ident.shortlist(
        {2: fingers[9].probe}, region=REGION
    )


def test_corrupt_snapshot_is_refused_and_rebuilt(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    path = tmp_path / "fp.idx"
    save_snapshot(_gallery(make_identifier, fingers, 6), path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotError) as info:
        read_snapshot(path)
    assert info.value.code == "snapshot_corrupt"

    stored = [Enrolment(i, REGION, {2: fingers[i].enrolled}) for i in range(6) if i != 1]
    progress: list[tuple[int, int | None]] = []
    start = open_identifier(
        snapshot=path,
        factory=_factory(make_identifier),
        events_after=lambda after: [],
        stored=lambda: (40, iter(stored), len(stored)),
        progress=lambda done, total: progress.append((done, total)),
    )
    assert start.source == "rebuild" and start.snapshot_error is not None
    assert start.identifier.last_event_id == 40 and len(start.identifier) == 5
    assert progress[-1] == (5, 5)
    assert start.identifier.search({2: fingers[3].probe}).candidates[0].person_id == 3
    assert read_snapshot(path)[0]["last_event_id"] == 40  # a fresh snapshot replaced it


def test_truncated_or_foreign_files_are_refused(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    path = tmp_path / "fp.idx"
    save_snapshot(_gallery(make_identifier, fingers, 3), path)
    whole = path.read_bytes()
    path.write_bytes(whole[:-100])
    with pytest.raises(SnapshotError):
        read_snapshot(path)
    path.write_bytes(b"not a snapshot at all, just text" * 3)
    with pytest.raises(SnapshotError):
        read_snapshot(path)
    path.write_bytes(whole[:8] + (99).to_bytes(4, "little") + whole[12:])
    with pytest.raises(SnapshotError) as info:
        read_snapshot(path)
    assert info.value.code == "snapshot_version"
    with pytest.raises(SnapshotError) as missing:
        read_snapshot(tmp_path / "absent.idx")
    assert missing.value.code == "snapshot_missing"


def test_snapshot_of_another_encoder_is_refused(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    path = tmp_path / "fp.idx"
    save_snapshot(_gallery(make_identifier, fingers, 3), path)
    other = encoder_for(LocalCodeParams(training_fingers=60, seed=1))
    with pytest.raises(SnapshotError) as info:
        load_snapshot(path, lambda _c: fingerprint_identifier(encoder=other))
    assert info.value.code == "snapshot_encoder"


def test_snapshot_of_another_template_store_is_refused(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    path = tmp_path / "fp.idx"
    save_snapshot(_gallery(make_identifier, fingers, 3), path)
    with pytest.raises(SnapshotError) as info:
        load_snapshot(path, lambda _c: make_identifier(template_store="compact"))
    assert info.value.code == "snapshot_codec"


def test_writers_of_one_snapshot_do_not_share_a_temporary_file(
    make_identifier: Make, fingers: list[Finger], tmp_path: Path
) -> None:
    """Two gateway processes stopping together save the same snapshot at the same moment."""
    ident = _gallery(make_identifier, fingers, 6)
    path = tmp_path / "fp.idx"
    (tmp_path / "fp.idx.tmp").mkdir()  # another writer's fixed-name temporary file in the way
    with ThreadPoolExecutor(4) as pool:
        saved = list(pool.map(lambda _: save_snapshot(ident, path), range(16)))
    assert saved == [6] * 16
    header, rows, _ = read_snapshot(path)
    assert header["last_event_id"] == 6 and len(rows.person_ids) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fp.idx", "fp.idx.tmp"]
