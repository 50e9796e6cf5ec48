"""Extracting the finger gallery again with another extractor, from the captures kept at
enrolment, while the gateway keeps serving.

The work goes in batches of templates not yet made by the target extractor, each batch in
three steps: read (the templates, and the captures they came from), extract (outside any
transaction: on SQLite an open write transaction would stall every verification for the
whole batch), then one short write transaction that re-checks each template under a row
lock, stores the new template as a new row, retires the old one and writes the person's
index event. A new row rather than an overwrite: the running gateways cache prepared
templates by id, and a verification that listed a person's template ids a moment earlier
can still load the retired row; the index learns of the change from the event, as it does
of an enrolment. Each batch commits alone with its audit entry, so a run stopped anywhere
resumes where it stopped: the next run selects only what is still not at the target.

A template whose capture is not stored (enrolled from a minutiae record, or before captures
were kept) or whose capture no longer extracts is reported for re-enrolment, never skipped
in silence; it keeps matching meanwhile, since the matcher compares minutiae whatever made
them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.service import append
from gateway.biometrics import repository as template_repository
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.models import BiometricTemplate, capture_aad, template_aad
from gateway.crypto.envelope import open_sealed, seal
from gateway.db import unit_of_work
from gateway.enrollment.versions import made_by
from gateway.indexing import repository as index_repository
from gateway.registry import repository as registry_repository
from gateway.registry.references import new_reference
from matcher.fingerprint import extractors
from matcher.fingerprint.image import FingerprintImageError
from matcher.fingerprint.types import MinutiaSet
from matcher.records.capture import finger_image
from matcher.records.errors import RecordFormatError

AUDIT_KIND = "template_reextraction"
# Fewer minutiae than this cannot support a decision (as for a minutiae record at intake):
# such a re-extraction keeps the old template and asks for the finger to be captured again.
MIN_MINUTIAE = 8

Action = Literal["record", "replace", "reenrol"]


@dataclass(frozen=True)
class NeedsReenrolment:
    """A template that cannot be extracted again: why, and who must come back."""

    template: str
    person: str
    position: int
    made_by: str
    reason: str


@dataclass
class ReextractionReport:
    """What a run did (or, dry, would do) to the active finger templates."""

    extractor: str
    dry_run: bool
    to_do: int = 0
    replaced: int = 0
    recorded: int = 0
    superseded: int = 0
    batches: int = 0
    made_by: dict[str, int] = field(default_factory=dict)
    reenrol: list[NeedsReenrolment] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "to_do": self.to_do,
            "replaced": self.replaced,
            "recorded": self.recorded,
            "superseded": self.superseded,
            "needs_reenrolment": len(self.reenrol),
            "batches": self.batches,
        }


@dataclass(frozen=True)
class _Read:
    """One template as read in a batch's first step, with its capture when stored."""

    template_id: int
    reference: str
    recorded: str | None
    made_by: str
    person: str
    position: int
    # The stored capture's format and declared resolution (format None: none stored), and its
    # bytes when the batch extracts.
    capture_format: str | None
    resolution_dpi: int | None
    raw: bytes | None


@dataclass(frozen=True)
class _Outcome:
    read: _Read
    action: Action
    template: MinutiaSet | None = None
    reason: str = ""


def finger_minutiae(
    name: str, raw: bytes, *, capture_format: str, resolution_dpi: int | None, position: int
) -> MinutiaSet:
    """Minutiae of a stored finger capture by extractor `name`, read as intake reads it."""
    if capture_format == "iso19794-4":
        pixels, dpi = finger_image(raw, position=position)
        found = extractors.run(name, pixels, resolution_dpi=dpi)
    else:
        found = extractors.run(name, raw, resolution_dpi=resolution_dpi)
    return dataclasses.replace(found, finger_position=position)


def _read_batch(
    session: Session,
    engine: BiometricEngine,
    rows: Sequence[BiometricTemplate],
    *,
    with_captures: bool,
) -> list[_Read]:
    keys = [(r.enrollment_id, r.modality, r.position) for r in rows]
    captures = template_repository.captures_at(session, keys)
    people = {r.person_id for r in rows}
    references = {
        pid: person.reference
        for pid in people
        if (person := registry_repository.person_by_id(session, pid)) is not None
    }
    out = []
    for row, key in zip(rows, keys, strict=True):
        capture = captures.get(key)
        raw = None
        if capture is not None and with_captures:
            raw = open_sealed(
                bytes(capture.envelope),
                aad=capture_aad(
                    enrollment_id=capture.enrollment_id,
                    person_id=capture.person_id,
                    modality=capture.modality,
                    position=capture.position,
                ),
            )
        out.append(
            _Read(
                template_id=row.id,
                reference=row.reference,
                recorded=row.extractor,
                made_by=made_by(engine, row),
                person=references.get(row.person_id, f"id:{row.person_id}"),
                position=row.position,
                capture_format=capture.format if capture is not None else None,
                resolution_dpi=capture.resolution_dpi if capture is not None else None,
                raw=raw,
            )
        )
    return out


def _decide(read: _Read, *, name: str, target: str, dry_run: bool) -> _Outcome:
    """What to do with one template; extracts (the slow part) unless `dry_run`."""
    if read.made_by == target:
        return _Outcome(read, "record")
    if read.capture_format is None:
        reason = "minutiae_record" if read.made_by == "" else "no_capture_stored"
        return _Outcome(read, "reenrol", reason=reason)
    if dry_run:
        return _Outcome(read, "replace")
    assert read.raw is not None
    try:
        found = finger_minutiae(
            name,
            read.raw,
            capture_format=read.capture_format,
            resolution_dpi=read.resolution_dpi,
            position=read.position,
        )
    except (FingerprintImageError, RecordFormatError) as exc:
        return _Outcome(read, "reenrol", reason=f"capture_unusable:{exc.code}")
    if len(found) < MIN_MINUTIAE:
        return _Outcome(read, "reenrol", reason="too_few_minutiae")
    return _Outcome(read, "replace", template=found)


def _replacement(
    engine: BiometricEngine, old: BiometricTemplate, template: MinutiaSet
) -> BiometricTemplate:
    reference = new_reference("tpl")
    aad = template_aad(
        reference=reference, person_id=old.person_id, modality=old.modality, position=old.position
    )
    return BiometricTemplate(
        reference=reference,
        person_id=old.person_id,
        enrollment_id=old.enrollment_id,
        modality=old.modality,
        position=old.position,
        quality=template.image_quality or old.quality,
        envelope=seal(engine.to_bytes("finger", template), aad=aad),
        active=True,
        extractor=engine.extractor_of("finger", template),
    )


def _write_batch(
    session: Session,
    engine: BiometricEngine,
    outcomes: Sequence[_Outcome],
    report: ReextractionReport,
    *,
    actor: str,
) -> list[_Outcome]:
    """Apply one batch in the caller's transaction: rows re-checked under lock, new rows in,
    old rows retired, one index event per person, one audit entry with the batch's counts.
    Returns the outcomes applied (not those a concurrent change made moot)."""
    locked = template_repository.lock_templates(session, [o.read.template_id for o in outcomes])
    changed: set[int] = set()
    applied: list[_Outcome] = []
    counts = {"replaced": 0, "recorded": 0, "needs_reenrolment": 0, "superseded": 0}
    for outcome in outcomes:
        row = locked.get(outcome.read.template_id)
        if row is None or not row.active or row.extractor != outcome.read.recorded:
            counts["superseded"] += 1  # replaced or re-enrolled meanwhile: nothing to do
            continue
        applied.append(outcome)
        if outcome.action == "replace":
            assert outcome.template is not None
            row.active = False
            if row.extractor is None:
                row.extractor = outcome.read.made_by
            session.add(_replacement(engine, row, outcome.template))
            changed.add(row.person_id)
            counts["replaced"] += 1
        elif outcome.action == "record":
            row.extractor = outcome.read.made_by
            counts["recorded"] += 1
        else:
            if row.extractor is None:
                row.extractor = outcome.read.made_by
            counts["needs_reenrolment"] += 1
    session.flush()
    for person_id in sorted(changed):
        index_repository.add_event(session, person_id=person_id, op="upsert")
    append(
        session=session,
        kind=AUDIT_KIND,
        actor=actor,
        subject=f"extractor:{report.extractor}",
        data={"batch": report.batches + 1, **counts},
    )
    report.replaced += counts["replaced"]
    report.recorded += counts["recorded"]
    report.superseded += counts["superseded"]
    return applied


def reextract(
    *,
    session_factory: sessionmaker[Session],
    engine: BiometricEngine,
    extractor: str,
    actor: str,
    batch: int = 100,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReextractionReport:
    """Bring every active finger template to extractor `extractor` (a name of
    `matcher.fingerprint.extractors`), `batch` templates a transaction.

    `progress(done, to_do)` is called at the start and after each batch has committed. A dry
    run reads and classifies (no extraction, no writes). The run's totals go to the audit log
    at the end.
    """
    target = extractors.version(extractor)
    report = ReextractionReport(extractor=target, dry_run=dry_run)
    with session_factory() as session:
        report.to_do = template_repository.count_not_made_by(session, "finger", target)
    if progress is not None:
        progress(0, report.to_do)
    after, done = 0, 0
    while True:
        with session_factory() as session:
            rows = template_repository.not_made_by(
                session, "finger", target, after=after, limit=batch
            )
            if not rows:
                break
            after = rows[-1].id
            read = _read_batch(session, engine, rows, with_captures=not dry_run)
        outcomes = [_decide(r, name=extractor, target=target, dry_run=dry_run) for r in read]
        for outcome in outcomes:
            maker = outcome.read.made_by or "(minutiae record)"
            report.made_by[maker] = report.made_by.get(maker, 0) + 1
        if dry_run:
            report.replaced += sum(o.action == "replace" for o in outcomes)
            report.recorded += sum(o.action == "record" for o in outcomes)
        else:
            with unit_of_work(session_factory) as session:
                outcomes = _write_batch(session, engine, outcomes, report, actor=actor)
        report.reenrol += [
            NeedsReenrolment(
                template=o.read.reference,
                person=o.read.person,
                position=o.read.position,
                made_by=o.read.made_by,
                reason=o.reason,
            )
            for o in outcomes
            if o.action == "reenrol"
        ]
        report.batches += 1
        done += len(read)
        if progress is not None:
            progress(done, report.to_do)
    if not dry_run:
        with unit_of_work(session_factory) as session:
            append(
                session=session,
                kind=AUDIT_KIND,
                actor=actor,
                subject=f"extractor:{target}",
                data={"run": "finished", **report.counts()},
            )
    return report
