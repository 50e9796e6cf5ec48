"""Prepare a load test: the demo gallery, one registered terminal per Locust user, a manifest.

The gallery is the demo's (`run_demo`: real CSV import, real enrollment with de-duplication).
On top of it each virtual agent gets its own terminal with its own Ed25519 key and capture
device, at a bank with a simulated adapter and with its cash-out account registered, as an
agent is set up in the field. Everything the Locust users need is written to one JSON
manifest (keys and ISO/IEC 19794-2 records inline, base64), so the same file drives Locust
workers on other machines.

The manifest also holds the captures that must fail: strangers (fingers enrolled nowhere,
a walk-in impostor in cardless mode) and poor captures of "decoy" people. Failed 1:1
attempts count towards a NIK's lockout, so those attempts only ever claim decoys: genuine
people never get locked by the load test, and a decoy's lockout (423) is an expected answer.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from gateway.biometrics import repository as template_repository
from gateway.biometrics.models import BiometricTemplate, template_aad
from gateway.crypto.envelope import seal
from gateway.crypto.nik import nik_lookup_hash
from gateway.db import unit_of_work
from gateway.demo import ADULT_AGE, DEMO_SEED, INDEX_FINGERS, finger_seed, run_demo
from gateway.enrollment.models import Enrollment
from gateway.indexing import repository as index_repository
from gateway.payouts import repository as payout_repository
from gateway.registry import repository as registry_repository
from gateway.registry.importer import import_register
from gateway.registry.references import new_reference
from gateway.registry.synthetic import REGIONS, synthetic_rows, write_register_csv
from gateway.terminals import service as terminal_service
from gateway.terminals.keys import encode_public_key
from matcher.fingerprint import iso19794_2, storage
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.minutiae import ImpressionParams, impression, master

# What makes a capture "poor": most true minutiae lost, many spurious, sloppy placement.
POOR = ImpressionParams(drop_rate=0.7, spurious_rate=0.6, position_sigma=8.0, angle_sigma_deg=25)
LOAD_BANK = "BRI"
STRANGER_BASE = 900_000  # person indexes no demo person has


@dataclass(frozen=True)
class Prepared:
    manifest: Path
    people: int
    households: int
    decoys: int
    terminals: int


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _views(person_index: int, seed: int, params: ImpressionParams | None) -> list[MinutiaSet]:
    return [
        impression(master(finger_seed(person_index, pos), finger_position=pos), seed, params=params)
        for pos in INDEX_FINGERS
    ]


def _fingers(
    person_index: int, seed: int, params: ImpressionParams | None = None
) -> dict[str, str]:
    """One capture of both index fingers, one ISO/IEC 19794-2 record per finger (base64)."""
    views = _views(person_index, seed, params)
    return {
        str(pos): _b64(iso19794_2.write([v])) for pos, v in zip(INDEX_FINGERS, views, strict=True)
    }


def _card(person_index: int) -> str:
    """The e-KTP chip's template: both index fingers in one record, its own impression."""
    return _b64(iso19794_2.write(_views(person_index, 3, None)))


def _enrolled(session_factory: sessionmaker[Session], nik: str) -> bool:
    """Active templates exist (a person held for de-duplication review cannot verify yet)."""
    with unit_of_work(session_factory) as session:
        person = registry_repository.person_by_nik_hash(session, nik_lookup_hash(nik))
        return person is not None and bool(template_repository.active_templates(session, person.id))


def _terminals(
    session_factory: sessionmaker[Session], count: int, run_tag: str
) -> list[dict[str, Any]]:
    """`count` agent terminals spread over the demo regions, each with a device and account."""
    terminals = []
    with unit_of_work(session_factory) as session:
        for i in range(count):
            province, regency, _district, name = REGIONS[i % len(REGIONS)]
            terminal_id = f"T-{province}{regency}-L{run_tag}{i:04d}"
            key, device_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
            terminal_service.register_terminal(
                session=session,
                terminal_id=terminal_id,
                agent_name=f"Agen beban {name} {i}",
                bank_code=LOAD_BANK,
                province_code=province,
                regency_code=regency,
                public_key=encode_public_key(key.public_key().public_bytes_raw()),
                actor="bench-load",
            )
            terminal_service.register_device(
                session=session,
                terminal_id=terminal_id,
                device_id=f"D-{terminal_id}",
                model="synthetic sensor",
                public_key=encode_public_key(device_key.public_key().public_bytes_raw()),
                actor="bench-load",
            )
            payout_repository.set_payout_account(
                session,
                owner_kind="terminal",
                owner_id=terminal_id,
                bank_code=LOAD_BANK,
                number=f"40{run_tag}{i:08d}",
                name=f"Agen beban {i}",
            )
            terminals.append(
                {
                    "id": terminal_id,
                    "region": province + regency,
                    "key": _pem(key),
                    "device_id": f"D-{terminal_id}",
                    "device_key": _pem(device_key),
                }
            )
    return terminals


def prepare(
    *,
    session_factory: sessionmaker[Session],
    data_dir: Path,
    households: int,
    terminals: int,
    decoy_share: float = 0.1,
    today: dt.date | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    from_templates: bool = False,
) -> Prepared:
    """Enroll the demo gallery, register `terminals` agents, write `<data_dir>/load.json`.

    `from_templates` enrolls one adult per household straight from templates instead (see
    `enroll_from_templates`): the payout wave's set-up, with no decoys and no ops console.
    """
    today = today or dt.date.today()
    if from_templates:
        people = enroll_from_templates(
            session_factory=session_factory, households=households, today=today, progress=progress
        )
        return _write_manifest(
            data_dir,
            session_factory=session_factory,
            people=people,
            decoys=[],
            terminals=terminals,
            ops=None,
            run_tag=f"{random.Random(DEMO_SEED).randrange(100):02d}",
        )
    run_demo(
        session_factory=session_factory,
        data_dir=data_dir,
        households=households,
        today=today,
        progress=progress,
    )
    # The demo's row order is its person index, which seeds each finger's synthetic master.
    rows = list(synthetic_rows(households=households, seed=DEMO_SEED, today=today))
    index_of = {row["nik"]: i for i, row in enumerate(rows)}
    graduated = {row["nik"] for row in rows if row["graduated"] == "true"}
    demo = data_dir / "demo"
    with (demo / "people.csv").open(encoding="utf-8") as handle:
        enrolled = [row for row in csv.DictReader(handle) if _enrolled(session_factory, row["nik"])]
    rng = random.Random(DEMO_SEED)
    rng.shuffle(enrolled)
    decoy_count = max(1, int(len(enrolled) * decoy_share))
    people, decoys = [], []
    for n, row in enumerate(enrolled):
        index = index_of[row["nik"]]
        entry = {
            "nik": row["nik"],
            "household": row["household"],
            "region": row["region"],
            # A graduated household is owed nothing: paying it is an expected refusal.
            "graduated": row["nik"] in graduated,
        }
        if n < decoy_count:
            decoys.append({**entry, "poor": _fingers(index, 5, POOR)})
            continue
        people.append({**entry, "probe": _fingers(index, 2), "card": _card(index)})
    return _write_manifest(
        data_dir,
        session_factory=session_factory,
        people=people,
        decoys=decoys,
        terminals=terminals,
        ops={
            "id": "ops-demo",
            "key": (demo / "keys" / "ops-demo.pem").read_text(encoding="ascii"),
        },
        run_tag=f"{rng.randrange(100):02d}",
    )


def _write_manifest(
    data_dir: Path,
    *,
    session_factory: sessionmaker[Session],
    people: list[dict[str, Any]],
    decoys: list[dict[str, Any]],
    terminals: int,
    ops: dict[str, str] | None,
    run_tag: str,
) -> Prepared:
    """Register the agents' terminals and write everything Locust needs to one file."""
    strangers = [_fingers(STRANGER_BASE + i, 2) for i in range(32)]
    manifest: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(),
        "terminals": _terminals(session_factory, terminals, run_tag),
        "ops": ops,
        "people": people,
        "decoys": decoys,
        "strangers": strangers,
    }
    path = data_dir / "load.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    path.chmod(0o600)
    return Prepared(
        manifest=path,
        people=len(people),
        households=len({p["household"] for p in people if not p["graduated"]}),
        decoys=len(decoys),
        terminals=terminals,
    )


@cache
def _captures(person_index: int) -> tuple[dict[int, bytes], dict[str, str]]:
    """A demo person's enrollment records by position and live probe (the manifest's form).

    Both impressions come from one synthetic master per finger, as `finger_record` and
    `_fingers` would make them; kept for the process, so a second wave reuses them.
    """
    enrolled: dict[int, bytes] = {}
    probe: dict[str, str] = {}
    for pos in INDEX_FINGERS:
        finger = master(finger_seed(person_index, pos), finger_position=pos)
        enrolled[pos] = iso19794_2.write([impression(finger, 1)])
        probe[str(pos)] = _b64(iso19794_2.write([impression(finger, 2)]))
    return enrolled, probe


def _adults_by_household(rows: list[dict[str, str]], today: dt.date) -> dict[str, int]:
    """Per family card, the row index of its first adult (the person who comes to be paid)."""
    chosen: dict[str, int] = {}
    for index, row in enumerate(rows):
        age = (today - dt.date.fromisoformat(row["birth_date"])).days // 365
        if age >= ADULT_AGE and row["graduated"] != "true":
            chosen.setdefault(row["family_card_number"], index)
    return chosen


def _store_enrolled(
    session: Session, people: list[tuple[int, dict[int, bytes]]], terminal_id: str
) -> None:
    """Active enrollments of `(person id, {position: ISO record})`, sealed as enrollment seals
    them, and the index told, in the caller's transaction."""
    enrollments = [
        Enrollment(
            reference=new_reference("enr"),
            person_id=person_id,
            status="enrolled",
            terminal_id=terminal_id,
        )
        for person_id, _records in people
    ]
    session.add_all(enrollments)
    session.flush()
    for enrollment, (person_id, records) in zip(enrollments, people, strict=True):
        for position, record in records.items():
            view = iso19794_2.read(record)[0]
            reference = new_reference("tpl")
            aad = template_aad(
                reference=reference, person_id=person_id, modality="finger", position=position
            )
            session.add(
                BiometricTemplate(
                    reference=reference,
                    person_id=person_id,
                    enrollment_id=enrollment.id,
                    modality="finger",
                    position=position,
                    quality=view.image_quality or min(100, 4 * len(view)),
                    envelope=seal(storage.dumps([view]), aad=aad),
                    active=True,
                    extractor=view.extractor,
                )
            )
    session.flush()
    for person_id, _records in people:
        index_repository.add_event(session, person_id=person_id, op="upsert")


def enroll_from_templates(
    *,
    session_factory: sessionmaker[Session],
    households: int,
    today: dt.date,
    progress: Callable[[str, int, int], None] | None = None,
    batch: int = 500,
) -> list[dict[str, Any]]:
    """One enrolled adult per payable household, from minutiae templates: seconds, not minutes.

    The register goes through the real CSV import; the templates are the demo's own
    enrollment impressions, sealed and stored as enrollment stores them, without the
    nationwide de-duplication search a real enrollment runs (the synthetic people are
    distinct by construction) and without rendering iris images. The wave's people, with
    their live probes, are returned in the manifest's shape.
    """
    text = io.StringIO()
    write_register_csv(text, households=households, seed=DEMO_SEED, today=today)
    import_register(
        session_factory=session_factory, source=io.BytesIO(text.getvalue().encode()), today=today
    )
    rows = list(synthetic_rows(households=households, seed=DEMO_SEED, today=today))
    chosen = sorted(_adults_by_household(rows, today).values())
    people: list[dict[str, Any]] = []
    for start in range(0, len(chosen), batch):
        part = chosen[start : start + batch]
        hashes = {nik_lookup_hash(rows[i]["nik"]): i for i in part}
        with unit_of_work(session_factory) as session:
            found = registry_repository.people_by_nik_hash(session, hashes)
            enrolled = [(found[h][0], _captures(i)[0]) for h, i in hashes.items() if h in found]
            if enrolled:
                _store_enrolled(session, enrolled, terminal_id="bench-load")
        for h, i in hashes.items():
            if h not in found:
                continue
            row = rows[i]
            people.append(
                {
                    "nik": row["nik"],
                    "household": row["family_card_number"],
                    "region": row["province_code"] + row["regency_code"],
                    "graduated": False,
                    "probe": _captures(i)[1],
                }
            )
        if progress is not None:
            progress("enroll", min(start + batch, len(chosen)), len(chosen))
    return people
