"""The gateway's fingerprint index as an IVF index: centroids learned at rebuild from the
register (topped up with synthetic fingers when it is small), kept in the snapshot, and a
snapshot of another index type refused rather than served."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from gateway.cli import app
from gateway.indexing.applier import IndexApplier
from gateway.indexing.identifiers import IdentifierFactory
from gateway.registry.service import find_person
from matcher.index.settings import IndexSettings
from matcher.index.snapshot import read_snapshot
from tests.gateway.enrollment.world import World, fingers

from .test_index_applier import _minutiae

IVF = IndexSettings(index_type="ivf", ivf_lists=8, ivf_probe=8)


def _applier(world: World, snapshots: Path | None, settings: IndexSettings) -> IndexApplier:
    return IndexApplier(
        session_factory=world.session_factory,
        engine=world.engine,
        factory=IdentifierFactory(
            finger_calibration=world.engine.finger_calibration, finger_settings=settings
        ),
        snapshot_dir=snapshots,
    )


def _identified(applier: IndexApplier, seed: int) -> set[int]:
    probe = {f.position: _minutiae(f) for f in fingers(seed, 9)}
    result = applier.search("finger", probe, region=None)
    return {c.person_id for c in result.candidates if c.fpir < 1e-4}


def _person_id(world: World, nik: str) -> int:
    with world.session_factory() as session:
        return find_person(session=session, nik=nik).id


def test_ivf_index_learns_centroids_finds_people_and_keeps_them_in_its_snapshot(
    world: World, tmp_path: Path
) -> None:
    first, second = world.adults()[:2]
    world.enroll(first["nik"], seed=1)
    ivf = _applier(world, tmp_path, IVF)
    assert ivf.load().sources["finger"] == "rebuilt"
    assert ivf.identifiers["finger"].settings.index_type == "ivf"
    assert _identified(ivf, 1) == {_person_id(world, first["nik"])}

    world.enroll(second["nik"], seed=2)  # after the rebuild: reaches the IVF lists by event
    ivf.catch_up()
    assert _identified(ivf, 2) == {_person_id(world, second["nik"])}
    ivf.save()
    header, _rows, centroids = read_snapshot(tmp_path / "finger.snapshot")
    assert header["index_type"] == "ivf" and centroids is not None and len(centroids) == 8

    again = _applier(world, tmp_path, IVF)
    assert again.load().sources["finger"] == "snapshot"
    assert _identified(again, 1) == {_person_id(world, first["nik"])}


@pytest.mark.parametrize(("saved", "wanted"), [(IndexSettings(), IVF), (IVF, IndexSettings())])
def test_a_snapshot_of_another_index_type_is_rebuilt_not_served(
    world: World, tmp_path: Path, saved: IndexSettings, wanted: IndexSettings
) -> None:
    person = world.adults()[0]
    world.enroll(person["nik"], seed=1)
    before = _applier(world, tmp_path, saved)
    before.load()
    before.save()
    after = _applier(world, tmp_path, wanted)
    assert after.load().sources["finger"] == "rebuilt"
    assert after.identifiers["finger"].settings.index_type == wanted.index_type
    assert _identified(after, 1) == {_person_id(world, person["nik"])}


def test_an_empty_register_gets_synthetic_centroids_then_indexes_new_enrolments(
    world: World,
) -> None:
    ivf = _applier(world, None, IVF)
    ivf.load()
    assert ivf.identifiers["finger"].ivf_centroids() is not None
    person = world.adults()[0]
    world.enroll(person["nik"], seed=3)
    ivf.catch_up()
    assert _identified(ivf, 3) == {_person_id(world, person["nik"])}


def test_index_cli_rebuilds_and_reports_snapshots(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    person = world.adults()[0]
    world.enroll(person["nik"], seed=1)
    engine = world.session_factory.kw["bind"]
    url = engine.url
    if url.get_backend_name() == "postgresql":  # the test's private schema, for the CLI too
        with engine.connect() as connection:
            schema = connection.scalar(text("SELECT current_schema()"))
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    monkeypatch.setenv("SATUPINTU_DATABASE_URL", url.render_as_string(hide_password=False))
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SATUPINTU_FINGER_INDEX_TYPE", "ivf")
    monkeypatch.setenv("SATUPINTU_FINGER_INDEX_IVF_LISTS", "8")
    runner = CliRunner()
    rebuilt = runner.invoke(app, ["index", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    header, _rows, _centroids = read_snapshot(tmp_path / "indexes" / "finger.snapshot")
    assert header["index_type"] == "ivf" and header["samples"] == 2  # both index fingers
    monkeypatch.setenv("SATUPINTU_FINGER_INDEX_TYPE", "flat")
    status = runner.invoke(app, ["index", "status"], env={"COLUMNS": "200"})
    assert status.exit_code == 0, status.output
    assert "settings ask for flat" in status.output
