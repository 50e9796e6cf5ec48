"""Enrollment: quality gate, de-duplication into adjudication, and the adjudicator's decisions."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from gateway.biometrics.captures import CaptureRejected
from gateway.biometrics.models import BiometricTemplate
from gateway.biometrics.schemas import FingerCapture
from gateway.enrollment.models import Enrollment
from gateway.enrollment.schemas import EnrollmentRequest
from gateway.enrollment.service import AdjudicationClosed, decide, enroll, list_adjudications
from gateway.indexing.models import IndexEvent
from gateway.registry.nik import NikError
from gateway.registry.service import UnknownPerson, find_person
from gateway.trust.anomalies import AnomalyPolicy
from matcher.fingerprint import iso19794_2
from matcher.synthetic.minutiae import master
from tests.gateway.enrollment.world import World


def _enroll_raw(world: World, nik: str, captures: list[FingerCapture]) -> None:
    world.indexes.catch_up()
    with world.session_factory.begin() as session:
        enroll(
            session=session,
            engine=world.engine,
            indexes=world.indexes,
            request=EnrollmentRequest(nik=nik, fingers=captures),
            ctx=world.ctx(session),
            min_quality=0,
            duplicate_target_fpir=1e-4,
            update_target_fmr=1e-4,
            anomaly=AnomalyPolicy(),
        )


def test_enrolled_person_is_indexed_and_templates_sealed(world: World) -> None:
    adult = world.adults()[0]
    assert world.enroll(adult["nik"], seed=1) == "enrolled"
    with world.session_factory() as session:
        person = find_person(session=session, nik=adult["nik"])
        rows = session.scalars(select(BiometricTemplate)).all()
        assert {(r.person_id, r.position, r.active) for r in rows} == {
            (person.id, 2, True),
            (person.id, 7, True),
        }
        assert all(not bytes(r.envelope).startswith(b"SPT") for r in rows)
        assert session.scalar(select(func.count()).select_from(IndexEvent)) == 1
    assert person.id in world.indexes.identifiers["finger"]


def test_same_fingers_under_another_nik_go_to_adjudication(world: World) -> None:
    first, second, third = world.adults()[:3]
    assert world.enroll(first["nik"], seed=1) == "enrolled"
    assert world.enroll(second["nik"], seed=1, shot=2) == "pending_adjudication"
    assert world.enroll(third["nik"], seed=3) == "enrolled"
    with world.session_factory.begin() as session:
        queue = list_adjudications(session=session, status="open", limit=10, offset=0)
        assert len(queue) == 1
        case = queue[0]
        first_ref = find_person(session=session, nik=first["nik"]).reference
        assert [c.person for c in case.candidates] == [first_ref]
        assert case.candidates[0].fmr < 1e-3
        second_id = find_person(session=session, nik=second["nik"]).id
    # Nothing of the held enrollment is searchable or active.
    assert second_id not in world.indexes.identifiers["finger"]
    with world.session_factory.begin() as session:
        decided = decide(
            session=session,
            reference=case.reference,
            decision="merge",
            candidate=first_ref,
            reason="same face on both e-KTP photos",
            adjudicator="cw-1",
        )
        assert decided.status == "decided" and decided.decision == "merge"
        # The merged NIK now resolves to the surviving person.
        assert find_person(session=session, nik=second["nik"]).reference == first_ref
        assert (
            session.scalar(
                select(func.count())
                .select_from(BiometricTemplate)
                .where(BiometricTemplate.person_id == second_id)
            )
            == 0
        )


def test_adjudicated_different_people_are_enrolled(world: World) -> None:
    first, second = world.adults()[:2]
    world.enroll(first["nik"], seed=1)
    assert world.enroll(second["nik"], seed=1, shot=3) == "pending_adjudication"
    with world.session_factory.begin() as session:
        case = list_adjudications(session=session, status="open", limit=10, offset=0)[0]
        decide(
            session=session,
            reference=case.reference,
            decision="enroll",
            candidate=None,
            reason="twins, different people",
            adjudicator="cw-1",
        )
        second_id = find_person(session=session, nik=second["nik"]).id
        with pytest.raises(AdjudicationClosed):
            decide(
                session=session,
                reference=case.reference,
                decision="refuse",
                candidate=None,
                reason="again",
                adjudicator="cw-1",
            )
    world.indexes.catch_up()
    assert second_id in world.indexes.identifiers["finger"]


def test_refused_enrollment_leaves_nothing_behind(world: World) -> None:
    first, second = world.adults()[:2]
    world.enroll(first["nik"], seed=1)
    world.enroll(second["nik"], seed=1, shot=2)
    with world.session_factory.begin() as session:
        case = list_adjudications(session=session, status="open", limit=10, offset=0)[0]
        decide(
            session=session,
            reference=case.reference,
            decision="refuse",
            candidate=None,
            reason="attempted double registration",
            adjudicator="cw-1",
        )
        statuses = set(session.scalars(select(Enrollment.status)))
        assert statuses == {"enrolled", "refused"}
        assert session.scalar(select(func.count()).select_from(BiometricTemplate)) == 2


def test_quality_gate_reports_every_bad_capture(world: World) -> None:
    nik = world.adults()[0]["nik"]
    sparse = master(5, finger_position=2)
    few = iso19794_2.write(
        [
            type(sparse).from_arrays(
                sparse.x[:3],
                sparse.y[:3],
                sparse.direction[:3],
                width=400,
                height=400,
                finger_position=2,
            )
        ]
    )
    captures = [
        FingerCapture(position=2, format="iso19794-2", data=base64.b64encode(few)),
        FingerCapture(position=7, format="iso19794-2", data=base64.b64encode(b"FMR\x00junk")),
        FingerCapture(position=3, format="image", data=base64.b64encode(b"not an image")),
    ]
    with pytest.raises(CaptureRejected) as caught:
        _enroll_raw(world, nik, captures)
    reports = {r["capture"]: r for r in caught.value.details["captures"]}
    assert reports["finger:2"]["reasons"][0]["code"] == "too_few_minutiae"
    assert reports["finger:7"]["reasons"][0]["code"].startswith("template_")
    assert reports["finger:3"]["reasons"][0]["code"] == "image_undecodable"
    with world.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Enrollment)) == 0


def test_unknown_and_malformed_niks_are_refused(world: World) -> None:
    with pytest.raises(UnknownPerson):
        _enroll_raw(world, "3201024506990001", [])
    with pytest.raises(NikError) as caught:
        _enroll_raw(world, "3201024506", [])
    assert caught.value.code == "invalid_nik_length"
