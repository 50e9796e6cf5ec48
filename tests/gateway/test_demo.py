"""`satupintu demo` loads a usable register and is idempotent."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto.keyring import KeyStore
from gateway.demo import run_demo
from gateway.registry.models import Household, Person
from gateway.terminals.models import Terminal


def test_demo_loads_once_and_tops_up_idempotently(
    session_factory: sessionmaker[Session], key_store: KeyStore, tmp_path: Path
) -> None:
    first = run_demo(
        session_factory=session_factory,
        data_dir=tmp_path,
        households=5,
        today=dt.date(2026, 11, 27),
    )
    assert first.people == 20 and first.enrolled + first.held_for_adjudication >= 8
    second = run_demo(
        session_factory=session_factory,
        data_dir=tmp_path,
        households=5,
        today=dt.date(2026, 11, 27),
    )
    assert (
        second.enrolled == 0
        and second.already_enrolled == first.enrolled + first.held_for_adjudication
    )
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Household)) == 5
        assert session.scalar(select(func.count()).select_from(Person)) == 20
        assert session.scalar(select(func.count()).select_from(Terminal)) == 4
    listed = list(csv.DictReader((tmp_path / "demo" / "people.csv").open(encoding="utf-8")))
    assert len(listed) == first.enrolled
    for row in listed:
        assert (tmp_path / "demo" / "probes" / f"{row['nik']}_2.iso").exists()
