"""Verification modes, lockout and supervised fallback through the service layer."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from gateway.biometrics.schemas import Captures
from gateway.db import read_snapshot, unit_of_work, utcnow
from gateway.terminals.models import PrincipalStatus
from gateway.terminals.repository import get_terminal
from gateway.verification import lockout
from gateway.verification.case_workers import CaseWorkerNotVerified, OutOfRegion
from gateway.verification.fallback import FallbackLimitReached
from gateway.verification.models import VerificationRecord
from gateway.verification.modes import NotEnrolled
from gateway.verification.outcome import Decision
from gateway.verification.recording import record
from gateway.verification.schemas import CardTemplate, VerifyRequest, VerifyResult, Vouch
from gateway.verification.service import decide
from gateway.verification.settings import IdentitySettings
from gateway.verification.tokens import consume_token
from matcher.fingerprint import iso19794_2
from matcher.synthetic.minutiae import impression, master
from tests.gateway.enrollment.world import World, fingers, irises
from tests.gateway.signing import register_terminal

SETTINGS = IdentitySettings(fallback_per_month=2)


def _decide(
    world: World, region: str = "3201", settings: IdentitySettings = SETTINGS, **body: object
) -> Decision:
    request = VerifyRequest.model_validate(body)
    if request.mode == "1:N":
        world.indexes.catch_up()
    with read_snapshot(world.session_factory) as session:
        return decide(
            session=session,
            engine=world.engine,
            indexes=world.indexes,
            request=request,
            ctx=world.ctx(session, region),
            settings=settings,
            check_person_rate=lambda _key: None,
        )


def _record(
    world: World, decision: Decision, region: str = "3201", settings: IdentitySettings = SETTINGS
) -> VerifyResult:
    with world.session_factory.begin() as session:
        return record(
            session=session,
            decision=decision,
            ctx=world.ctx(session, region),
            settings=settings,
            request_digest="r" * 64,
        )


def _verify(world: World, region: str = "3201", **body: object) -> VerifyResult:
    return _record(world, _decide(world, region, **body), region)


def _records(world: World) -> int:
    with world.session_factory() as session:
        return session.scalar(select(func.count()).select_from(VerificationRecord)) or 0


def _fingers(seed: int, shot: int, positions: tuple[int, ...] = (2, 7)) -> list[dict[str, object]]:
    return [f.model_dump(mode="json") for f in fingers(seed, shot, positions)]


@pytest.fixture
def enrolled(world: World) -> list[str]:
    """Two enrolled adults (fingers of seeds 1 and 2) in regions 3201 and 3578."""
    first = next(r for r in world.adults() if r["province_code"] == "32")
    second = next(r for r in world.adults() if r["province_code"] == "35")
    world.enroll(first["nik"], seed=1)
    world.enroll(second["nik"], seed=2)
    return [first["nik"], second["nik"]]


def test_one_to_one_match_issues_a_token(world: World, enrolled: list[str]) -> None:
    result = _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(1, 5))
    assert result.decision == "match" and result.token and result.household
    assert result.fmr is not None and result.fmr < SETTINGS.verify_target_fmr
    assert {s.capture for s in result.samples} == {"finger:2", "finger:7"}
    with world.session_factory.begin() as session:
        claims = consume_token(session=session, token=result.token, terminal="T-TEST")
        assert claims.household_reference == result.household
        record = session.scalars(select(VerificationRecord)).one()
        assert record.outcome == "match" and record.token_id == claims.token_id
        assert record.terminal_id == "T-TEST" and record.mode == "1:1"


def test_single_finger_verifies_too(world: World, enrolled: list[str]) -> None:
    result = _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(1, 6, (7,)))
    assert result.decision == "match"


def test_impostor_fails_and_five_failures_lock_the_nik(world: World, enrolled: list[str]) -> None:
    for attempt in range(5):
        result = _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(2, attempt + 1))
        assert result.decision == "no_match" and result.token is None
        assert result.attempts_left == 4 - attempt
    with pytest.raises(lockout.Locked) as caught:
        _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(1, 5))
    reference = caught.value.details["lockout"]
    with pytest.raises(lockout.Locked) as found:  # found by a cardless search: refused too
        _verify(world, region="3201", mode="1:N", fingers=_fingers(1, 5))
    assert found.value.details["lockout"] == reference
    with world.session_factory.begin() as session:
        assert [lo.reference for lo in lockout.list_open(session=session, limit=5, offset=0)] == [
            reference
        ]
    world.case_worker("cw-1", region="3201")
    world.case_worker("cw-far", region="3578", seed=79)
    with world.session_factory.begin() as session, pytest.raises(OutOfRegion):
        lockout.unlock(
            session=session,
            reference=reference,
            operator_id="cw-far",
            reason="a case worker of another region",
            now=utcnow(),
        )
    with world.session_factory.begin() as session:
        lockout.unlock(
            session=session,
            reference=reference,
            operator_id="cw-1",
            reason="person present with e-KTP, fingers cleaned",
            now=utcnow(),
        )
    result = _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(1, 5))
    assert result.decision == "match"
    # Failures before the unlock no longer count.
    assert _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(2, 9)).attempts_left == 4


def test_failures_elsewhere_lock_only_elsewhere_and_a_probing_terminal_is_suspended(
    world: World, enrolled: list[str]
) -> None:
    register_terminal(world.session_factory, "T-TEST", province_code="35", regency_code="78")
    settings = IdentitySettings(terminal_failure_limit=6)
    away = {"region": "3578", "settings": settings}
    for _ in range(5):  # enrolled[0] lives in 3201: these are away failures
        decision = _decide(world, mode="1:1", nik=enrolled[0], fingers=_fingers(2, 1), **away)
        assert _record(world, decision, "3578", settings).decision == "no_match"
    with pytest.raises(lockout.Locked):
        _decide(world, mode="1:1", nik=enrolled[0], fingers=_fingers(1, 2), **away)
    assert _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(1, 3)).decision == "match"
    with world.session_factory() as session:
        terminal = get_terminal(session, "T-TEST")
        assert terminal is not None and terminal.status == PrincipalStatus.active
    decision = _decide(world, mode="1:1", nik=enrolled[1], fingers=_fingers(1, 4), **away)
    assert _record(world, decision, "3578", settings).decision == "no_match"
    with world.session_factory() as session:
        terminal = get_terminal(session, "T-TEST")
        assert terminal is not None and terminal.status == PrincipalStatus.suspended


def test_a_lockout_written_after_the_decision_withholds_the_token(
    world: World, enrolled: list[str]
) -> None:
    """Concurrent attempts decide on what they read; the lockout a failed one writes before
    a match is recorded still stops that match's token."""
    genuine = _decide(world, mode="1:1", nik=enrolled[0], fingers=_fingers(1, 5))
    assert genuine.outcome.match
    for attempt in range(5):
        _verify(world, mode="1:1", nik=enrolled[0], fingers=_fingers(2, attempt + 1))
    recorded = _records(world)
    with pytest.raises(lockout.Locked):
        _record(world, genuine)
    assert _records(world) == recorded


def test_cardless_search_in_region_then_nationwide(world: World, enrolled: list[str]) -> None:
    local = _verify(world, region="3201", mode="1:N", fingers=_fingers(1, 7))
    assert local.decision == "match" and local.scope == "region" and local.token
    remote = _verify(world, region="3201", mode="1:N", fingers=_fingers(2, 7))
    assert remote.decision == "match" and remote.scope == "national"
    assert remote.household != local.household
    stranger = _verify(world, region="3201", mode="1:N", fingers=_fingers(40, 1))
    assert stranger.decision == "no_match" and stranger.token is None
    assert stranger.person is None


def test_ektp_needs_card_and_enrolled_template_to_match(world: World, enrolled: list[str]) -> None:
    card = iso19794_2.write([impression(master(1 * 16 + p, finger_position=p), 11) for p in (2, 7)])
    good = _verify(
        world,
        mode="ektp",
        nik=enrolled[0],
        fingers=_fingers(1, 12),
        card_template={"data": base64.b64encode(card).decode()},
    )
    assert good.decision == "match"
    assert {s.against for s in good.samples} == {"card", "enrolled"}
    wrong_card = iso19794_2.write([impression(master(9 * 16 + 2, finger_position=2), 1)])
    bad = _verify(
        world,
        mode="ektp",
        nik=enrolled[0],
        fingers=_fingers(1, 12, (2,)),
        card_template=CardTemplate(data=base64.b64encode(wrong_card)).model_dump(mode="json"),
    )
    assert bad.decision == "no_match" and bad.token is None


def test_not_enrolled_person_cannot_verify(world: World, enrolled: list[str]) -> None:
    other = next(r for r in world.adults() if r["nik"] not in enrolled)
    with pytest.raises(NotEnrolled):
        _verify(world, mode="1:1", nik=other["nik"], fingers=_fingers(3, 1))


def test_supervised_fallback_is_flagged_limited_and_needs_the_case_worker(
    world: World, enrolled: list[str]
) -> None:
    worker = world.case_worker("cw-1", region="3201", seed=77)

    def vouch(seed: int) -> dict[str, object]:
        return Vouch(
            case_worker=worker,
            reason="worn ridges, elderly; known to me for years",
            captures=Captures(fingers=fingers(seed, 3)),
        ).model_dump(mode="json")

    with pytest.raises(CaseWorkerNotVerified):
        _verify(world, mode="fallback", nik=enrolled[0], vouch=vouch(78))
    for _ in range(2):
        result = _verify(world, mode="fallback", nik=enrolled[0], vouch=vouch(77))
        assert result.decision == "match" and result.fallback and result.token
    with pytest.raises(FallbackLimitReached):
        _verify(world, mode="fallback", nik=enrolled[0], vouch=vouch(77))
    with world.session_factory() as session:
        fallbacks = session.scalar(
            select(func.count())
            .select_from(VerificationRecord)
            .where(VerificationRecord.fallback.is_(True))
        )
        assert fallbacks == 2
    # Last month's fallbacks no longer count; decided before this month's limit was used
    # up, recorded after: the limit is read again.
    with unit_of_work(world.session_factory) as session:
        session.execute(update(VerificationRecord).values(at=utcnow() - timedelta(days=40)))
    early = [_decide(world, mode="fallback", nik=enrolled[0], vouch=vouch(77)) for _ in range(3)]
    _record(world, early[0])
    _record(world, early[1])
    with pytest.raises(FallbackLimitReached):
        _record(world, early[2])


def test_iris_verifies_one_to_one_and_cardless(world: World) -> None:
    adult = world.adults()[0]
    assert world.enroll(adult["nik"], seed=3, with_irises=True) == "enrolled"
    eyes = [i.model_dump(mode="json") for i in irises(3, 2)]
    one = _verify(world, mode="1:1", nik=adult["nik"], irises=eyes)
    assert one.decision == "match" and {s.capture for s in one.samples} == {
        "iris:right",
        "iris:left",
    }
    other = [i.model_dump(mode="json") for i in irises(4, 2, ("right",))]
    assert _verify(world, mode="1:1", nik=adult["nik"], irises=other).decision == "no_match"
    cardless = _verify(world, region="3578", mode="1:N", irises=eyes[:1])
    assert cardless.decision == "match" and cardless.person == one.person
