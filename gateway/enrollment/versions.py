"""Which extractor made each stored template: read from its sealed envelope, and recorded in
its row, where the gallery's versions can be counted and selected without opening envelopes.

Templates stored before rows recorded it (the column is NULL after the migration, which runs
without the key ring and so cannot open them) get it recorded here, in batches.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.service import append
from gateway.biometrics import repository as template_repository
from gateway.biometrics.captures import Modality
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.models import BiometricTemplate, open_template
from gateway.db import unit_of_work

AUDIT_KIND = "template_versions_recorded"


def made_by(engine: BiometricEngine, row: BiometricTemplate) -> str:
    """The extractor name and version inside a template's envelope ("" for another vendor's
    minutiae record)."""
    modality: Modality = "finger" if row.modality == "finger" else "iris"
    plain = open_template(row)
    return engine.extractor_of(modality, engine.from_bytes(modality, plain))


def record_versions(
    *,
    session_factory: sessionmaker[Session],
    engine: BiometricEngine,
    actor: str,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Record the extractor of every template whose row does not name it yet, `batch` rows a
    transaction (so it can run beside serving gateways, and be stopped and run again); how
    many were recorded, which the audit log gets too."""
    recorded = 0
    while True:
        with unit_of_work(session_factory) as session:
            rows = template_repository.unrecorded(session, limit=batch)
            if not rows:
                break
            for row in rows:
                row.extractor = made_by(engine, row)
            recorded += len(rows)
        if progress is not None:
            progress(recorded)
    with unit_of_work(session_factory) as session:
        append(
            session=session,
            kind=AUDIT_KIND,
            actor=actor,
            subject="templates",
            data={"recorded": recorded},
        )
    return recorded
