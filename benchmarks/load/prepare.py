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
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session, sessionmaker

from gateway.biometrics import repository as template_repository
from gateway.crypto.nik import nik_lookup_hash
from gateway.db import unit_of_work
from gateway.demo import DEMO_SEED, INDEX_FINGERS, finger_seed, run_demo
from gateway.payouts import repository as payout_repository
from gateway.registry import repository as registry_repository
from gateway.registry.synthetic import REGIONS, synthetic_rows
from gateway.terminals import service as terminal_service
from gateway.terminals.keys import encode_public_key
from matcher.fingerprint import iso19794_2
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
) -> Prepared:
    """Enroll the demo gallery, register `terminals` agents, write `<data_dir>/load.json`."""
    today = today or dt.date.today()
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
    strangers = [_fingers(STRANGER_BASE + i, 2) for i in range(32)]
    manifest: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).isoformat(),
        "terminals": _terminals(session_factory, terminals, f"{rng.randrange(100):02d}"),
        "ops": {
            "id": "ops-demo",
            "key": (demo / "keys" / "ops-demo.pem").read_text(encoding="ascii"),
        },
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
