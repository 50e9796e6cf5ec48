"""The comparisons of each mode: 1:1 against the enrolled templates, e-KTP against the card
and the enrolled templates, cardless 1:N through the index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy.orm import Session

from gateway.biometrics.captures import Sample, finger_from_record
from gateway.biometrics.engine import BiometricEngine, Comparison
from gateway.enrollment.templates import compare_current
from gateway.errors import Conflict, InvalidInput
from gateway.indexing.applier import IndexApplier, region_of
from gateway.indexing.errors import SearchIncomplete
from gateway.verification import repository
from gateway.verification.outcome import Outcome
from gateway.verification.schemas import SampleScore
from gateway.verification.subjects import Subject, subject_of
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.types import MinutiaSet
from matcher.index.base import RegionCode


class NotEnrolled(Conflict):
    code = "not_enrolled"


class CardFingerMissing(InvalidInput):
    code = "card_finger_missing"


def _compare_enrolled(
    *, session: Session, engine: BiometricEngine, person: Subject, samples: Sequence[Sample]
) -> list[Comparison]:
    comparisons = compare_current(
        session=session, engine=engine, person_id=person.id, samples=samples
    )
    if not comparisons:
        raise NotEnrolled(
            "The person has no enrolled template for the captured finger(s) or eye(s); "
            "enroll them first or capture an enrolled finger."
        )
    return comparisons


def _scores(
    comparisons: Sequence[Comparison], against: Literal["enrolled", "card"]
) -> list[SampleScore]:
    return [
        SampleScore(capture=c.label, against=against, score=c.score, fmr=c.fmr) for c in comparisons
    ]


def one_to_one(
    *,
    session: Session,
    engine: BiometricEngine,
    person: Subject,
    samples: Sequence[Sample],
    target_fmr: float,
) -> Outcome:
    comparisons = _compare_enrolled(session=session, engine=engine, person=person, samples=samples)
    fused = engine.fuse(comparisons)
    return Outcome(fused.fmr <= target_fmr, person, fused, _scores(comparisons, "enrolled"))


def ektp(
    *,
    session: Session,
    engine: BiometricEngine,
    person: Subject,
    samples: Sequence[Sample],
    card: bytes,
    target_fmr: float,
) -> Outcome:
    """Live fingers against the chip's template AND the enrolled one: both must match."""
    fingers = [s for s in samples if s.modality == "finger"]
    card_comparisons = []
    for s in fingers:

        def decode(position: int = s.position) -> MinutiaSet:
            return finger_from_record(card, position=position, label="card")

        try:
            card_view = engine.prepared_card(card, s.position, decode)
        except TemplateFormatError as exc:
            if exc.field == "finger_position":
                continue
            raise InvalidInput(
                f"The card template is not a valid ISO/IEC 19794-2 record: {exc}",
                code="card_template_invalid",
            ) from None
        card_comparisons.append(
            engine.compare("finger", s.label, engine.prepared_probe(s), card_view)
        )
    if not card_comparisons:
        raise CardFingerMissing("The card template holds none of the captured fingers.")
    enrolled = _compare_enrolled(session=session, engine=engine, person=person, samples=fingers)
    card_fused, enrolled_fused = engine.fuse(card_comparisons), engine.fuse(enrolled)
    weaker = max((card_fused, enrolled_fused), key=lambda f: f.fmr)
    return Outcome(
        match=card_fused.fmr <= target_fmr and enrolled_fused.fmr <= target_fmr,
        person=person,
        fused=weaker,
        samples=_scores(enrolled, "enrolled") + _scores(card_comparisons, "card"),
    )


def one_to_many(
    *,
    session: Session,
    engine: BiometricEngine,
    indexes: IndexApplier,
    samples: Sequence[Sample],
    region: str,
    target_fpir: float,
) -> Outcome:
    """Cardless: the terminal's regency first, then nationwide; modalities fused per person."""
    per_person: dict[int, list[tuple[str, float, float]]] = {}
    widened = False
    gallery = 1
    unsearched: set[RegionCode] = set()
    for modality in ("finger", "iris"):
        probe = {s.position: s.template for s in samples if s.modality == modality}
        if not probe:
            continue
        result = indexes.search(modality, probe, region=region_of(region), limit=5)
        widened = widened or result.widened
        gallery = max(gallery, result.gallery_size)
        unsearched.update(result.unsearched)
        for c in result.candidates:
            per_person.setdefault(c.person_id, []).append((modality, c.score, c.fmr))
    if not per_person:
        _refuse_partial_miss(unsearched)
        return Outcome(False, scope="national" if widened else "region")
    fused_by_person = {
        pid: engine.fuse([Comparison(m, s, f) for m, s, f in hits])
        for pid, hits in per_person.items()
    }
    best_id = min(fused_by_person, key=lambda pid: fused_by_person[pid].fmr)
    fused = fused_by_person[best_id]
    fpir = min(1.0, gallery * fused.fmr)
    found = repository.subject_by_id(session, best_id) if fpir <= target_fpir else None
    person = subject_of(found) if found is not None else None
    if person is None:
        _refuse_partial_miss(unsearched)
    return Outcome(
        match=person is not None,
        person=person,
        fused=fused,
        samples=[
            SampleScore(capture=f"{m}", against="enrolled", score=s, fmr=f)
            for m, s, f in per_person[best_id]
        ]
        if person is not None
        else [],
        scope="national" if widened else "region",
        fpir=fpir,
    )


def _refuse_partial_miss(unsearched: set[RegionCode]) -> None:
    """A miss over a partial search is not a "not found": the person may live on the part
    that did not answer."""
    if unsearched:
        raise SearchIncomplete(
            "Part of the register did not answer in time; try again, or verify with the card.",
            unsearched=sorted(r.key for r in unsearched),
        )
