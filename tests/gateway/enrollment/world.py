"""A small identity world for the enrollment and verification tests.

A synthetic register imported through the real importer, a score calibration fitted on
synthetic impostor comparisons (so the tests do not depend on the shipped default), the
biometric engine, the index applier, and helpers making ISO/IEC 19794-2 captures of
synthetic fingers: finger `seed` is one synthetic master, `shot` one impression of it.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gateway.biometrics.captures import CaptureContext
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.schemas import Captures, FingerCapture, IrisCapture
from gateway.crypto.keyring import KeyStore
from gateway.db import utcnow
from gateway.enrollment.schemas import EnrollmentRequest
from gateway.enrollment.service import enroll
from gateway.indexing.applier import IndexApplier
from gateway.indexing.identifiers import IdentifierFactory
from gateway.registry.importer import import_register
from gateway.registry.synthetic import synthetic_rows, write_register_csv
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.terminals.models import OperatorRole
from gateway.trust.anomalies import AnomalyPolicy
from gateway.verification.case_workers import approve, enrolment_statement, register
from matcher.fingerprint import compare, iso19794_2
from matcher.fingerprint.calibration import Calibration, fit
from matcher.synthetic.iris import encode_png, render_eye
from matcher.synthetic.minutiae import impression, master
from tests.gateway.signing import register_operator

TODAY = dt.date(2026, 11, 27)
SEED = 7


def finger_record(seed: int, shot: int, position: int) -> bytes:
    finger = master(seed, finger_position=position)
    return iso19794_2.write([impression(finger, shot)])


def fingers(seed: int, shot: int, positions: tuple[int, ...] = (2, 7)) -> list[FingerCapture]:
    """Captures of a person's index fingers; finger p of person `seed` is master seed*16+p."""
    return [
        FingerCapture(
            position=p,
            format="iso19794-2",
            data=base64.b64encode(finger_record(seed * 16 + p, shot, p)),
        )
        for p in positions
    ]


def terminal(region: str = "3201", terminal_id: str = "T-TEST") -> AuthenticatedTerminal:
    return AuthenticatedTerminal(
        id=terminal_id,
        agent_name="test",
        bank_code="SIM",
        province_code=region[:2],
        regency_code=region[2:],
        nonce=f"n-{utcnow().timestamp()}",
        created=utcnow(),
    )


@pytest.fixture(scope="session")
def finger_calibration(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fitted on impostor pairs of synthetic fingers; written as the gateway would load it."""
    prepared = [compare.prepare(impression(master(900_000 + i), 1)) for i in range(16)]
    scores = [compare.DEFAULT_COMPARATOR(a, b) for a, b in itertools.combinations(prepared, 2)]
    path = tmp_path_factory.mktemp("calibration") / "fingers.json"
    fit(scores, source="synthetic impostors (tests)").save(path)
    return path


@dataclass
class World:
    session_factory: sessionmaker[Session]
    engine: BiometricEngine
    indexes: IndexApplier
    rows: list[dict[str, str]]

    def adults(self) -> list[dict[str, str]]:
        return [r for r in self.rows if int(r["birth_date"][:4]) <= TODAY.year - 18]

    def ctx(self, session: Session, region: str = "3201") -> CaptureContext:
        return CaptureContext(session=session, terminal=terminal(region), allow_plaintext=True)

    def case_worker(self, operator_id: str, region: str = "3201", seed: int = 77) -> str:
        """Register a case worker of `region` the way a real one is (supervisor's approval, the
        worker's own signature); their reference."""
        with self.session_factory.begin() as session:
            key = register_operator(session, operator_id, OperatorRole.case_worker, "Pendamping")
            approval = approve(
                session=session,
                operator_id=operator_id,
                region=region,
                supervisor_id="ops-1",
                hours=1,
                now=utcnow(),
            ).reference
            ctx = self.ctx(session, region)
            statement = enrolment_statement(
                approval=approval,
                operator_id=operator_id,
                terminal_id=ctx.terminal.id,
                nonce=ctx.terminal.nonce,
            )
            return register(
                session=session,
                operator_id=operator_id,
                approval=approval,
                operator_signature=key.sign(statement),
                captures=Captures(fingers=fingers(seed, 1)),
                ctx=ctx,
                min_quality=0,
                now=utcnow(),
            ).reference

    def enroll(self, nik: str, seed: int, shot: int = 1, with_irises: bool = False) -> str:
        self.indexes.catch_up()
        with self.session_factory.begin() as session:
            result = enroll(
                session=session,
                engine=self.engine,
                indexes=self.indexes,
                request=EnrollmentRequest(
                    nik=nik,
                    fingers=fingers(seed, shot),
                    irises=irises(seed, shot) if with_irises else [],
                ),
                ctx=self.ctx(session),
                min_quality=0,
                duplicate_target_fpir=1e-4,
                update_target_fmr=1e-4,
                anomaly=AnomalyPolicy(),
            )
        self.indexes.catch_up()
        return result.status


@pytest.fixture
def world(
    session_factory: sessionmaker[Session], key_store: KeyStore, finger_calibration: Path
) -> Iterator[World]:
    text = io.StringIO()
    write_register_csv(text, households=8, seed=SEED, today=TODAY)
    import_register(
        session_factory=session_factory, source=io.BytesIO(text.getvalue().encode()), today=TODAY
    )
    engine = BiometricEngine(finger_calibration=Calibration.load(finger_calibration))
    indexes = IndexApplier(
        session_factory=session_factory,
        engine=engine,
        factory=IdentifierFactory(finger_calibration=engine.finger_calibration),
        snapshot_dir=None,
    )
    indexes.load()
    yield World(
        session_factory, engine, indexes, list(synthetic_rows(households=8, seed=SEED, today=TODAY))
    )
    indexes.stop()


def irises(
    eye_seed: int, shot: int, eyes: tuple[str, ...] = ("right", "left")
) -> list[IrisCapture]:
    """Rendered synthetic eye images (PNG); eye e of person `eye_seed` is eye seed*2+e."""
    return [
        IrisCapture(
            eye=eye,  # type: ignore[arg-type]
            data=base64.b64encode(encode_png(render_eye(eye_seed * 2 + i, shot).image)),
        )
        for i, eye in enumerate(eyes)
    ]
