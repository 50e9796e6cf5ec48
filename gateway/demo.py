"""`satupintu demo`: a synthetic register with synthetic biometrics, ready to verify and pay.

Everything goes through the real paths (CSV import, the enrollment service with its quality
gate and 1:N de-duplication, sealed templates, index events), so the demo shows a working
gateway rather than rows poked into tables. It is idempotent: people already enrolled are
skipped and existing terminals and operators are kept, so `make run` can load it every time.

Synthetic fingers are template-level (minutiae, not images) and sent as ISO/IEC 19794-2
records, as an e-KTP reader or a vendor SDK would send them. Demo keys are written under
`<data_dir>/demo/` for trying the API with `gateway.client`; they are for development only.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from gateway.biometrics import repository as template_repository
from gateway.biometrics.captures import CaptureContext, CaptureRejected
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.schemas import Captures, FingerCapture, IrisCapture
from gateway.crypto.nik import nik_lookup_hash
from gateway.db import unit_of_work, utcnow
from gateway.enrollment import repository
from gateway.enrollment.schemas import EnrollmentRequest
from gateway.enrollment.service import EnrollmentResult, enroll
from gateway.indexing.applier import IndexApplier
from gateway.indexing.identifiers import IdentifierFactory
from gateway.payouts import repository as payout_repository
from gateway.registry import repository as registry_repository
from gateway.registry.importer import import_register
from gateway.registry.synthetic import REGIONS, synthetic_rows, write_register_csv
from gateway.settings import Settings
from gateway.terminals import repository as terminal_repository
from gateway.terminals import service as terminal_service
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.terminals.keys import encode_public_key
from gateway.terminals.models import OperatorRole
from gateway.verification import case_workers
from gateway.verification import repository as verification_repository
from matcher.fingerprint import iso19794_2
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.iris import encode_png, render_eye
from matcher.synthetic.minutiae import impression, master

DEMO_SEED = 2026
INDEX_FINGERS = (2, 7)  # right and left index, the e-KTP fingers
ADULT_AGE = 17  # e-KTP (and its biometrics) from 17
CASE_WORKER_ID = "pendamping-demo"
DEMO_BANK = "BRI"
# Irises are rendered as images and segmented, which costs more than ISO fingers: the demo
# enrolls them for one adult in this many, enough to try iris verification.
IRIS_EVERY = 4


@dataclass
class DemoSummary:
    households: int = 0
    people: int = 0
    enrolled: int = 0
    already_enrolled: int = 0
    held_for_adjudication: int = 0
    terminals: list[str] = field(default_factory=list)
    directory: Path | None = None


def finger_seed(person_index: int, position: int) -> int:
    """Each demo person's finger gets its own synthetic master (deterministic)."""
    return DEMO_SEED * 1_000_000 + person_index * 16 + position


def finger_record(person_index: int, position: int, impression_seed: int) -> bytes:
    """One capture of a demo finger as an ISO/IEC 19794-2 record."""
    finger = master(finger_seed(person_index, position), finger_position=position)
    shot: MinutiaSet = impression(finger, impression_seed)
    return iso19794_2.write([shot])


def _private_key(directory: Path, name: str) -> Ed25519PrivateKey:
    """A demo key kept on disk, so re-running the demo keeps the same identities."""
    path = directory / f"{name}.pem"
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        return loaded
    key = Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def _public(key: Ed25519PrivateKey) -> str:
    return encode_public_key(key.public_key().public_bytes_raw())


def _principals(session: Session, keys: Path) -> list[str]:
    """One terminal (with a capture device and a cash-out account) per demo region, an ops
    operator and a case worker."""
    terminals = []
    for number, (province, regency, _district, name) in enumerate(REGIONS, start=1):
        terminal_id = f"T-{province}{regency}-DEMO"
        terminals.append(terminal_id)
        if terminal_repository.get_terminal(session, terminal_id) is None:
            # Agents cash out through a state bank, simulated in development (payouts.banks).
            payout_repository.set_payout_account(
                session,
                owner_kind="terminal",
                owner_id=terminal_id,
                bank_code=DEMO_BANK,
                number=f"7007{number:09d}",
                name=f"Agen demo {name}",
            )
            terminal_service.register_terminal(
                session=session,
                terminal_id=terminal_id,
                agent_name=f"Agen demo {name}",
                bank_code=DEMO_BANK,
                province_code=province,
                regency_code=regency,
                public_key=_public(_private_key(keys, terminal_id)),
                actor="demo",
            )
            terminal_service.register_device(
                session=session,
                terminal_id=terminal_id,
                device_id=f"D-{terminal_id}",
                model="synthetic sensor",
                public_key=_public(_private_key(keys, f"D-{terminal_id}")),
                actor="demo",
            )
    for operator_id, role in (
        ("ops-demo", OperatorRole.ops),
        (CASE_WORKER_ID, OperatorRole.case_worker),
    ):
        if terminal_repository.get_operator(session, operator_id) is None:
            terminal_service.register_operator(
                session=session,
                operator_id=operator_id,
                name=operator_id,
                role=role,
                public_key=_public(_private_key(keys, operator_id)),
                actor="demo",
            )
    return terminals


def _terminal(terminal_id: str, province: str, regency: str) -> AuthenticatedTerminal:
    """The demo terminal as the enrollment service sees an authenticated caller."""
    return AuthenticatedTerminal(
        id=terminal_id,
        agent_name="demo",
        bank_code=DEMO_BANK,
        province_code=province,
        regency_code=regency,
        nonce=f"demo-{utcnow().timestamp()}",
        created=utcnow(),
    )


def _fingers(person_index: int, impression_seed: int) -> list[FingerCapture]:
    return [
        FingerCapture(
            position=pos,
            format="iso19794-2",
            data=base64.b64encode(finger_record(person_index, pos, impression_seed)),
        )
        for pos in INDEX_FINGERS
    ]


def _irises(person_index: int, shot: int) -> list[IrisCapture]:
    """Rendered synthetic eye images (PNG) of a demo person's right and left eye."""
    return [
        IrisCapture(
            eye=eye,
            data=base64.b64encode(
                encode_png(render_eye(finger_seed(person_index, 8 + i), shot).image)
            ),
        )
        for i, eye in enumerate(("right", "left"))
    ]


def _enroll_demo_person(
    *,
    session: Session,
    engine: BiometricEngine,
    indexes: IndexApplier,
    terminal: AuthenticatedTerminal,
    nik: str,
    index: int,
    settings: Settings,
) -> EnrollmentResult:
    """Enroll through the real service; a rejected synthetic eye falls back to fingers alone.

    A rendered eye can come out mostly occluded, as real ones do; an operator would recapture,
    the demo enrolls the fingers without the irises.
    """

    def attempt(irises: list[IrisCapture]) -> EnrollmentResult:
        return enroll(
            session=session,
            engine=engine,
            indexes=indexes,
            request=EnrollmentRequest(nik=nik, fingers=_fingers(index, 1), irises=irises),
            ctx=CaptureContext(session=session, terminal=terminal, allow_plaintext=True),
            min_quality=0,
            duplicate_target_fpir=settings.duplicate_target_fpir,
            update_target_fmr=settings.verify_target_fmr,
            anomaly=settings.anomaly_policy(),
        )

    if index % IRIS_EVERY != 0:
        return attempt([])
    try:
        with session.begin_nested():
            return attempt(_irises(index, 1))
    except CaptureRejected:
        return attempt([])


def run_demo(
    *,
    session_factory: sessionmaker[Session],
    data_dir: Path,
    households: int = 40,
    today: dt.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> DemoSummary:
    """Load (or top up) the demo register, principals and enrolled biometrics."""
    today = today or dt.date.today()
    directory = data_dir / "demo"
    keys = directory / "keys"
    probes = directory / "probes"
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    probes.mkdir(parents=True, exist_ok=True)
    summary = DemoSummary(households=households, directory=directory)
    settings = Settings()

    text = io.StringIO()
    write_register_csv(text, households=households, seed=DEMO_SEED, today=today)
    import_register(
        session_factory=session_factory, source=io.BytesIO(text.getvalue().encode()), today=today
    )
    with unit_of_work(session_factory) as session:
        summary.terminals = _principals(session, keys)

    engine = BiometricEngine()
    indexes = IndexApplier(
        session_factory=session_factory,
        engine=engine,
        factory=IdentifierFactory(finger_calibration=engine.finger_calibration),
        snapshot_dir=None,
    )
    indexes.load()
    rows = list(synthetic_rows(households=households, seed=DEMO_SEED, today=today))
    summary.people = len(rows)
    # Enrolled people only: each line is someone a terminal can verify with the probes.
    listing = [("nik", "name", "person", "household", "region", "relation", "age")]
    adults = [
        (i, r)
        for i, r in enumerate(rows)
        if (today - dt.date.fromisoformat(r["birth_date"])).days // 365 >= ADULT_AGE
    ]
    for done, (index, row) in enumerate(adults, start=1):
        region = row["province_code"] + row["regency_code"]
        with unit_of_work(session_factory) as session:
            person = registry_repository.person_by_nik_hash(session, nik_lookup_hash(row["nik"]))
            assert person is not None
            enrolled = bool(template_repository.active_templates(session, person.id))
            pending = repository.pending_enrollment_of(session, person.id) is not None
            status = "enrolled" if enrolled else "pending_adjudication"
            if enrolled or pending:
                summary.already_enrolled += 1
            else:
                terminal = _terminal(f"T-{region}-DEMO", row["province_code"], row["regency_code"])
                result = _enroll_demo_person(
                    session=session,
                    engine=engine,
                    indexes=indexes,
                    terminal=terminal,
                    nik=row["nik"],
                    index=index,
                    settings=settings,
                )
                status = result.status
                summary.enrolled += status == "enrolled"
                summary.held_for_adjudication += status == "pending_adjudication"
            household = registry_repository.household_by_id(session, person.household_id)
            assert household is not None
            if status == "enrolled":
                listing.append(
                    (
                        row["nik"],
                        row["name"],
                        person.reference,
                        household.reference,
                        region,
                        row["relation"],
                        str((today - person.birth_date).days // 365),
                    )
                )
        indexes.catch_up()
        for pos in INDEX_FINGERS:
            (probes / f"{row['nik']}_{pos}.iso").write_bytes(finger_record(index, pos, 2))
        if index % IRIS_EVERY == 0:
            for i, eye in enumerate(("right", "left")):
                image = render_eye(finger_seed(index, 8 + i), 2).image
                (probes / f"{row['nik']}_{eye}.png").write_bytes(encode_png(image))
        if progress is not None:
            progress("enroll", done, len(adults))
    _case_worker(session_factory, summary.terminals[0], keys)
    with (directory / "people.csv").open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(listing)
    return summary


def _case_worker(session_factory: sessionmaker[Session], terminal_id: str, keys: Path) -> None:
    """The demo pendamping, with their own (synthetic) index fingers registered the way a
    real one is: approved by the ops supervisor, the request signed with their own key."""
    with unit_of_work(session_factory) as session:
        if verification_repository.case_worker_by_operator(session, CASE_WORKER_ID) is not None:
            return
        terminal = _terminal(terminal_id, terminal_id[2:4], terminal_id[4:6])
        now = utcnow()
        approval = case_workers.approve(
            session=session,
            operator_id=CASE_WORKER_ID,
            region=terminal.region,
            supervisor_id="ops-demo",
            hours=1,
            now=now,
        )
        statement = case_workers.enrolment_statement(
            approval=approval.reference,
            operator_id=CASE_WORKER_ID,
            terminal_id=terminal.id,
            nonce=terminal.nonce,
        )
        case_workers.register(
            session=session,
            operator_id=CASE_WORKER_ID,
            approval=approval.reference,
            operator_signature=_private_key(keys, CASE_WORKER_ID).sign(statement),
            captures=Captures(fingers=_fingers(999_999, 1)),
            ctx=CaptureContext(session=session, terminal=terminal, allow_plaintext=True),
            min_quality=0,
            now=now,
        )
