"""The database-first index lifecycle: snapshot + replay, corrupt snapshot rebuilt, removals."""

from __future__ import annotations

from pathlib import Path

from gateway.indexing.applier import IndexApplier
from gateway.indexing.identifiers import IdentifierFactory
from gateway.registry.service import find_person
from tests.gateway.enrollment.world import World, fingers


def _restart(world: World, snapshots: Path) -> tuple[IndexApplier, dict[str, str]]:
    applier = IndexApplier(
        session_factory=world.session_factory,
        engine=world.engine,
        factory=IdentifierFactory(finger_calibration=world.engine.finger_calibration),
        snapshot_dir=snapshots,
    )
    report = applier.load()
    return applier, report.sources


def _found(applier: IndexApplier, seed: int) -> set[int]:
    probe = {f.position: _minutiae(f) for f in fingers(seed, 9)}
    result = applier.search("finger", probe, region=None)
    return {c.person_id for c in result.candidates if c.fpir < 1e-4}


def _minutiae(capture: object) -> object:
    from matcher.fingerprint import iso19794_2

    return iso19794_2.read(bytes(capture.data))[0]  # type: ignore[attr-defined]


def test_restart_from_snapshot_replays_later_events(world: World, tmp_path: Path) -> None:
    first, second = world.adults()[:2]
    world.enroll(first["nik"], seed=1)
    world.indexes.snapshot_dir = tmp_path
    world.indexes.save()
    world.enroll(second["nik"], seed=2)  # after the snapshot: must be replayed
    applier, sources = _restart(world, tmp_path)
    assert sources == {"finger": "snapshot", "iris": "rebuilt"}  # nobody has irises enrolled
    with world.session_factory() as session:
        ids = [find_person(session=session, nik=r["nik"]).id for r in (first, second)]
    assert _found(applier, 1) == {ids[0]} and _found(applier, 2) == {ids[1]}


def test_corrupt_snapshot_is_refused_and_rebuilt(world: World, tmp_path: Path) -> None:
    first = world.adults()[0]
    world.enroll(first["nik"], seed=1)
    world.indexes.snapshot_dir = tmp_path
    world.indexes.save()
    path = tmp_path / "finger.snapshot"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    applier, sources = _restart(world, tmp_path)
    assert sources["finger"] == "rebuilt"
    assert len(_found(applier, 1)) == 1
