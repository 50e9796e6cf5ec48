"""Re-extracting the finger gallery: a gallery enrolled from images by the default
extractor, moved to the student network from the captures kept at enrolment."""

from __future__ import annotations

import base64
import functools
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from fastapi import FastAPI
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from gateway.audit.models import AuditEntry
from gateway.biometrics.captures import Sample, decode_captures, open_captures
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.models import BiometricCapture, BiometricTemplate
from gateway.biometrics.schemas import Captures, FingerCapture
from gateway.client import GatewayKey, finger_image_record, new_nonce, seal_capture
from gateway.enrollment.reextract import AUDIT_KIND, ReextractionReport, reextract
from gateway.enrollment.schemas import EnrollmentRequest
from gateway.enrollment.service import enroll
from gateway.enrollment.templates import compare_current
from gateway.indexing.models import IndexEvent
from gateway.registry.service import find_person
from gateway.trust.anomalies import AnomalyPolicy
from matcher.fingerprint import extractors
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.ridges import master_fingerprint
from tests.gateway.enrollment.test_enrollment_api import _register
from tests.gateway.enrollment.world import World, fingers
from tests.gateway.signing import SignedClient, TerminalIdentity, database_url_of

pytest.importorskip("onnxruntime")

OLD = extractors.version(extractors.DEFAULT)
NEW = extractors.version("student")
POSITIONS = (2, 7)


@functools.cache
def finger_png(seed: int, shot: int) -> bytes:
    """One rendered impression of synthetic finger `seed`, as a PNG a terminal would send."""
    image = impression_image(master_fingerprint(seed), shot).image
    return bytes(cv2.imencode(".png", image)[1].tobytes())


def image_fingers(person_seed: int, shot: int) -> list[FingerCapture]:
    return [
        FingerCapture(
            position=p,
            format="image",
            resolution_dpi=500,
            data=base64.b64encode(finger_png(person_seed * 16 + p, shot)),
        )
        for p in POSITIONS
    ]


def enroll_images(
    world: World, nik: str, seed: int, *, keep_captures: bool = True, records: bool = False
) -> str:
    world.indexes.catch_up()
    captures = fingers(seed, 1) if records else image_fingers(seed, 1)
    with world.session_factory.begin() as session:
        result = enroll(
            session=session,
            engine=world.engine,
            indexes=world.indexes,
            request=EnrollmentRequest(nik=nik, fingers=captures),
            ctx=world.ctx(session),
            min_quality=0,
            duplicate_target_fpir=1e-4,
            update_target_fmr=1e-4,
            anomaly=AnomalyPolicy(),
            keep_captures=keep_captures,
        )
    world.indexes.catch_up()
    return result.status


def active_extractors(world: World) -> dict[tuple[int, int], str | None]:
    with world.session_factory() as session:
        rows = session.execute(
            select(
                BiometricTemplate.person_id, BiometricTemplate.position, BiometricTemplate.extractor
            ).where(BiometricTemplate.active.is_(True))
        ).all()
    return {(pid, pos): ext for pid, pos, ext in rows}


def count(world: World, model: type, *where: ColumnElement[bool]) -> int:
    with world.session_factory() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(session.scalar(query) or 0)


def run(
    world: World,
    *,
    extractor: str = "student",
    batch: int = 2,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReextractionReport:
    return reextract(
        session_factory=world.session_factory,
        engine=world.engine,
        extractor=extractor,
        actor="cli:tester",
        batch=batch,
        dry_run=dry_run,
        progress=progress,
    )


def probe_of(world: World, seed: int, shot: int) -> list[Sample]:
    """A new capture of person `seed`'s fingers, read as a verification reads it (the
    intake's extractor)."""
    with world.session_factory() as session:
        opened = open_captures(Captures(fingers=image_fingers(seed, shot)), ctx=world.ctx(session))
    return decode_captures(opened, min_quality=0)[0]


def best_fmr(world: World, nik: str, samples: list[Sample]) -> float:
    """The best FMR of `samples` against the person's current templates."""
    with world.session_factory() as session:
        person = find_person(session=session, nik=nik)
        comparisons = compare_current(
            session=session, engine=world.engine, person_id=person.id, samples=samples
        )
    assert len(comparisons) == len(POSITIONS)
    return min(c.fmr for c in comparisons)


def test_enrolment_records_the_extractor_and_keeps_image_captures(world: World) -> None:
    first, second = world.adults()[:2]
    assert enroll_images(world, first["nik"], seed=1) == "enrolled"
    assert enroll_images(world, second["nik"], seed=2, records=True) == "enrolled"
    with world.session_factory() as session:
        one = find_person(session=session, nik=first["nik"]).id
        two = find_person(session=session, nik=second["nik"]).id
    made = active_extractors(world)
    assert made == {(one, 2): OLD, (one, 7): OLD, (two, 2): "", (two, 7): ""}
    # Images are kept (sealed); a minutiae record is a template already and is not.
    with world.session_factory() as session:
        kept = session.scalars(select(BiometricCapture)).all()
    assert {(c.person_id, c.position, c.format) for c in kept} == {
        (one, 2, "image"),
        (one, 7, "image"),
    }
    assert all(b"\x89PNG" not in bytes(c.envelope) for c in kept)


def test_a_probe_of_the_new_extractor_matches_a_template_of_the_old(world: World) -> None:
    """Mixed versions compare: the matcher compares minutiae, whatever extracted them."""
    import numpy as np

    from matcher.fingerprint import compare

    old = compare.prepare(extractors.run("gabor", finger_png(1 * 16 + 2, 1)))
    new_mate = compare.prepare(extractors.run("student", finger_png(1 * 16 + 2, 2)))
    new_other = compare.prepare(extractors.run("student", finger_png(3 * 16 + 2, 2)))
    mated = world.engine.fmr("finger", world.engine.score("finger", new_mate, old))
    non_mated = world.engine.fmr("finger", world.engine.score("finger", new_other, old))
    assert mated < 1e-4 < non_mated
    assert np.isfinite(mated)


def test_gallery_moves_to_the_new_extractor_and_still_verifies(world: World) -> None:
    a, b, c = world.adults()[:3]
    enroll_images(world, a["nik"], seed=1)
    enroll_images(world, b["nik"], seed=2)
    enroll_images(world, c["nik"], seed=3, records=True)
    samples = probe_of(world, seed=1, shot=2)
    before = best_fmr(world, a["nik"], samples)
    events_before = count(world, IndexEvent)
    done: list[tuple[int, int]] = []

    report = run(world, progress=lambda d, t: done.append((d, t)))

    with world.session_factory() as session:
        pa = find_person(session=session, nik=a["nik"])
        pb = find_person(session=session, nik=b["nik"])
        pc = find_person(session=session, nik=c["nik"])
    made = active_extractors(world)
    assert {made[(p.id, pos)] for p in (pa, pb) for pos in POSITIONS} == {NEW}
    assert {made[(pc.id, pos)] for pos in POSITIONS} == {""}
    assert report.replaced == 4 and report.recorded == 0 and report.to_do == 6
    # The record-enrolled person is listed, with why, not skipped.
    listed = {(r.person, r.position, r.reason) for r in report.reenrol}
    assert listed == {(pc.reference, 2, "minutiae_record"), (pc.reference, 7, "minutiae_record")}
    assert done == [(0, 6), (2, 6), (4, 6), (6, 6)]
    # Old rows are retired, not overwritten: one per replaced template, still marked as made
    # by the old extractor; one index event per person changed.
    assert count(world, BiometricTemplate, BiometricTemplate.active.is_(False)) == 4
    assert count(world, BiometricTemplate, BiometricTemplate.extractor == OLD) == 4
    assert count(world, IndexEvent) == events_before + 2
    # The same person still verifies, against the re-extracted templates.
    after = best_fmr(world, a["nik"], samples)
    assert after < 1e-4 and before < 1e-4
    with world.session_factory() as session:
        current = session.scalars(
            select(BiometricTemplate.id).where(
                BiometricTemplate.person_id == pa.id, BiometricTemplate.active.is_(True)
            )
        ).all()
    # Prepared from the new rows: the cache of the old ones is simply no longer asked.
    assert all(world.engine.cache.get(tid) is not None for tid in current)
    # The running index picks the replaced templates up from the events.
    world.indexes.catch_up()
    probe = {
        p: extractors.run("student", finger_png(1 * 16 + p, 3), resolution_dpi=500)
        for p in POSITIONS
    }
    found = world.indexes.search("finger", probe, region=None, limit=1)
    assert found.candidates[0].person_id == pa.id
    # Audited: who ran it and the counts, per batch and for the run.
    with world.session_factory() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.kind == AUDIT_KIND).order_by(AuditEntry.seq)
        ).all()
    assert {e.actor for e in entries} == {"cli:tester"}
    assert entries[-1].data["replaced"] == 4 and entries[-1].data["needs_reenrolment"] == 2

    # A second run changes nothing and lists the same templates again.
    rows_before = count(world, BiometricTemplate)
    again = run(world)
    assert again.replaced == 0 and again.recorded == 0
    assert len(again.reenrol) == 2
    assert count(world, BiometricTemplate) == rows_before
    assert count(world, IndexEvent) == events_before + 2


def test_an_interrupted_run_resumes_where_it_stopped(world: World) -> None:
    a, b = world.adults()[:2]
    enroll_images(world, a["nik"], seed=1)
    enroll_images(world, b["nik"], seed=2)

    def crash(done: int, _total: int) -> None:
        if done:  # the operator's ^C (or a crash) after the first batch
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(world, batch=1, progress=crash)
    assert sorted(v or "" for v in active_extractors(world).values()) == sorted(
        [NEW, OLD, OLD, OLD]
    )

    resumed = run(world, batch=1)
    assert resumed.to_do == 3 and resumed.replaced == 3
    made = active_extractors(world)
    assert len(made) == 4 and set(made.values()) == {NEW}
    assert count(world, BiometricTemplate, BiometricTemplate.active.is_(True)) == 4


def test_missing_captures_are_listed_and_unrecorded_versions_recorded(world: World) -> None:
    a, b = world.adults()[:2]
    enroll_images(world, a["nik"], seed=1, keep_captures=False)
    enroll_images(world, b["nik"], seed=2)
    with world.session_factory() as session:
        pa = find_person(session=session, nik=a["nik"])
    # Templates stored before versions were recorded here: the column is empty.
    with world.session_factory.begin() as session:
        session.execute(update(BiometricTemplate).values(extractor=None))

    dry = run(world, dry_run=True)
    assert dry.replaced == 2 and len(dry.reenrol) == 2
    assert set(active_extractors(world).values()) == {None}  # a dry run writes nothing
    assert count(world, AuditEntry, AuditEntry.kind == AUDIT_KIND) == 0

    # Re-extracting to the version that made them only records it: no new rows.
    same = run(world, extractor=extractors.DEFAULT)
    assert same.recorded == 4 and same.replaced == 0 and not same.reenrol
    assert set(active_extractors(world).values()) == {OLD}
    assert count(world, BiometricTemplate) == 4

    moved = run(world)
    assert moved.replaced == 2
    assert {(r.person, r.reason) for r in moved.reenrol} == {(pa.reference, "no_capture_stored")}
    assert {r.made_by for r in moved.reenrol} == {OLD}


def test_the_command_reports_and_exits_3_when_some_need_re_enrolment(
    world: World, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli import app

    a, b = world.adults()[:2]
    enroll_images(world, a["nik"], seed=1)
    enroll_images(world, b["nik"], seed=2, records=True)
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SATUPINTU_DATABASE_URL", database_url_of(engine))
    runner = CliRunner()
    unknown = runner.invoke(app, ["templates", "re-extract", "--extractor", "nope"])
    assert unknown.exit_code == 2 and "unknown extractor" in unknown.output
    dry = runner.invoke(app, ["templates", "re-extract", "--dry-run", "--extractor", "student"])
    assert dry.exit_code == 3, dry.output
    assert "need re-enrolment" in dry.output and "minutiae_record" in dry.output
    assert set(active_extractors(world).values()) == {OLD, ""}
    done = runner.invoke(
        app,
        [
            "templates",
            "re-extract",
            "--extractor",
            "student",
            "--batch",
            "3",
            "--operator",
            "ops-7",
        ],
    )
    assert done.exit_code == 3, done.output
    assert set(active_extractors(world).values()) == {NEW, ""}
    with world.session_factory() as session:
        actors = set(session.scalars(select(AuditEntry.actor).where(AuditEntry.kind == AUDIT_KIND)))
    assert actors == {"cli:ops-7"}


def test_a_template_changed_meanwhile_is_left_to_its_new_owner(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A biometric update (or another run) that retires a template between the batch's read
    and its write wins: the run does not resurrect or duplicate it."""
    from gateway.enrollment import reextract as module

    a = world.adults()[0]
    enroll_images(world, a["nik"], seed=1)
    decide = module._decide
    retired: list[int] = []

    def meanwhile(read: module._Read, **kwargs: object) -> module._Outcome:
        if not retired:
            with world.session_factory.begin() as session:
                session.execute(
                    update(BiometricTemplate)
                    .where(BiometricTemplate.id == read.template_id)
                    .values(active=False)
                )
            retired.append(read.template_id)
        return decide(read, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_decide", meanwhile)
    report = run(world)
    assert report.superseded == 1 and report.replaced == 1
    made = active_extractors(world)
    assert list(made.values()) == [NEW]
    with world.session_factory() as session:
        still = session.get(BiometricTemplate, retired[0])
        assert still is not None and not still.active and still.extractor == OLD


def test_verifications_keep_going_while_the_gallery_is_re_extracted(world: World) -> None:
    """No downtime: a verifier reading templates and writing its audit entry, as a 1:1
    verification does, keeps succeeding, quickly, beside a run (extraction happens outside
    the write transactions, so the write lock is held only to swap rows)."""
    import threading
    import time

    from gateway.audit.service import AuditKind, append
    from gateway.db import unit_of_work

    people = world.adults()[:3]
    for i, person in enumerate(people, start=1):
        enroll_images(world, person["nik"], seed=i)
    samples = probe_of(world, seed=1, shot=2)
    stop = threading.Event()
    latencies: list[float] = []
    errors: list[BaseException] = []

    def verifier() -> None:
        while not stop.is_set():
            began = time.perf_counter()
            try:
                fmr = best_fmr(world, people[0]["nik"], samples)
                with unit_of_work(world.session_factory) as session:
                    append(
                        session=session,
                        kind=AuditKind.verification,
                        actor="terminal:T-TEST",
                        subject="person:test",
                        data={"fmr": fmr},
                    )
                assert fmr < 1e-4
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)
                return
            latencies.append(time.perf_counter() - began)

    thread = threading.Thread(target=verifier)
    thread.start()
    try:
        report = run(world, batch=1)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert report.replaced == 6 and len(latencies) >= 3
    assert max(latencies) < 5.0


@pytest.fixture
def gateway_app(app_factory: Callable[..., FastAPI], finger_calibration: Path) -> FastAPI:
    """The app as deployed, polling for index events often so the test need not wait."""
    return app_factory(index_poll_seconds=0.2, finger_calibration_path=finger_calibration)


def _record_fingers(
    terminal: TerminalIdentity, key: GatewayKey, seed: int, shot: int, nonce: str
) -> list[dict[str, object]]:
    """Both index fingers as sealed ISO/IEC 19794-4 records (WSQ in the 2011 edition)."""
    return [
        {
            "position": p,
            "format": "iso19794-4",
            "sealed": seal_capture(
                finger_image_record(
                    impression_image(master_fingerprint(seed * 16 + p), shot).image, position=p
                ),
                gateway_key=key,
                terminal_id=terminal.id,
                nonce=nonce,
                device_id=terminal.device_id,
                device_key=terminal.device_key,
            ),
        }
        for p in POSITIONS
    ]


def _post(
    client: SignedClient, terminal: TerminalIdentity, key: GatewayKey, url: str, **body: object
) -> dict[str, object]:
    seed, shot = int(str(body.pop("seed"))), int(str(body.pop("shot")))
    nonce = new_nonce()
    response = client.post(
        url,
        json={**body, "fingers": _record_fingers(terminal, key, seed, shot, nonce)},
        nonce=nonce,
    )
    assert response.status_code in (200, 201), response.text
    answer: dict[str, object] = response.json()
    return answer


def test_a_serving_gateway_follows_a_re_extraction_of_sealed_image_records(
    gateway_app: FastAPI,
    ops_client: SignedClient,
    terminal_client: SignedClient,
    terminal: TerminalIdentity,
    gateway_key: GatewayKey,
    session_factory: sessionmaker[Session],
) -> None:
    """Over HTTP: sealed finger image records are kept at enrolment; re-extracted by another
    process (its own engine, as the command runs) while the app serves; the app's 1:1 and
    1:N answers then come from the new templates, its index having applied the events."""
    nik = _register(ops_client, households=1)[0]["nik"]
    enrolled = _post(
        terminal_client, terminal, gateway_key, "/v1/enrollments", nik=nik, seed=5, shot=1
    )
    assert enrolled["status"] == "enrolled"
    with session_factory() as session:
        kept = session.scalars(select(BiometricCapture.format)).all()
    assert kept == ["iso19794-4", "iso19794-4"]
    one = _post(
        terminal_client, terminal, gateway_key, "/v1/verify", mode="1:1", nik=nik, seed=5, shot=2
    )
    assert one["decision"] == "match"

    report = reextract(
        session_factory=session_factory,
        engine=BiometricEngine(cache_size=0),
        extractor="student",
        actor="cli:tester",
    )
    assert report.replaced == 2 and not report.reenrol
    with session_factory() as session:
        rows = session.execute(
            select(BiometricTemplate.id, BiometricTemplate.extractor).where(
                BiometricTemplate.active.is_(True)
            )
        ).all()
        last_event = int(session.scalar(select(func.max(IndexEvent.id))) or 0)
    assert {extractor for _id, extractor in rows} == {NEW}

    indexes = gateway_app.state.indexes
    deadline = time.monotonic() + 10
    while min(i.last_event_id for i in indexes.identifiers.values()) < last_event:
        assert time.monotonic() < deadline, "the serving index never applied the events"
        time.sleep(0.1)
    again = _post(
        terminal_client, terminal, gateway_key, "/v1/verify", mode="1:1", nik=nik, seed=5, shot=3
    )
    assert again["decision"] == "match"
    # The verification prepared (and cached) the new rows, not the retired ones.
    assert all(gateway_app.state.biometrics.cache.get(tid) is not None for tid, _ in rows)
    cardless = _post(
        terminal_client, terminal, gateway_key, "/v1/verify", mode="1:N", seed=5, shot=4
    )
    assert cardless["decision"] == "match" and cardless["household"] == enrolled["household"]


def test_a_capture_that_no_longer_extracts_is_listed_and_its_template_kept(world: World) -> None:
    from gateway.biometrics.models import capture_aad
    from gateway.crypto.envelope import seal

    a = world.adults()[0]
    enroll_images(world, a["nik"], seed=1)
    with world.session_factory.begin() as session:
        damaged = session.scalars(
            select(BiometricCapture).where(BiometricCapture.position == 2)
        ).one()
        damaged.envelope = seal(
            b"not an image",
            aad=capture_aad(
                enrollment_id=damaged.enrollment_id,
                person_id=damaged.person_id,
                modality="finger",
                position=2,
            ),
        )
    report = run(world)
    assert report.replaced == 1
    assert [(r.position, r.reason.split(":")[0]) for r in report.reenrol] == [
        (2, "capture_unusable")
    ]
    made = active_extractors(world)
    assert sorted(v or "" for v in made.values()) == sorted([OLD, NEW])


def test_versions_of_templates_stored_before_rows_named_them_are_recorded(
    world: World, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gateway.cli import app
    from gateway.enrollment.versions import AUDIT_KIND as RECORDED
    from gateway.enrollment.versions import record_versions

    a, b = world.adults()[:2]
    enroll_images(world, a["nik"], seed=1)
    assert world.enroll(b["nik"], seed=2, with_irises=True) == "enrolled"

    def recorded() -> list[tuple[int, str, int, str | None]]:
        with world.session_factory() as session:
            rows = session.execute(
                select(
                    BiometricTemplate.person_id,
                    BiometricTemplate.modality,
                    BiometricTemplate.position,
                    BiometricTemplate.extractor,
                )
            ).all()
        return sorted((p, m, pos, e) for p, m, pos, e in rows)

    before = recorded()
    assert sorted({(m, e) for _p, m, _pos, e in before}) == [
        ("finger", ""),  # the person enrolled from minutiae records
        ("finger", OLD),
        ("iris", "satupintu-iris/2"),
    ]
    with world.session_factory.begin() as session:
        session.execute(update(BiometricTemplate).values(extractor=None))
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SATUPINTU_DATABASE_URL", database_url_of(engine))
    shown = CliRunner().invoke(app, ["templates", "versions"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0 and "not recorded" in shown.output
    assert set(active_extractors(world).values()) == {None}  # without --record: read only

    done: list[int] = []
    n = record_versions(
        session_factory=world.session_factory,
        engine=world.engine,
        actor="cli:tester",
        batch=3,
        progress=done.append,
    )
    assert n == 6 and done == [3, 6]
    assert recorded() == before
    assert count(world, AuditEntry, AuditEntry.kind == RECORDED) == 1
    again = CliRunner().invoke(app, ["templates", "versions", "--record"], env={"COLUMNS": "120"})
    assert again.exit_code == 0 and "recorded the extractor of 0 templates" in again.output
    assert "not recorded" not in again.output and OLD in again.output
