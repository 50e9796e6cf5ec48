"""Shared fixtures: a migrated database on SQLite and, where reachable, PostgreSQL."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway import migrate
from gateway.db import make_engine, make_session_factory

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"


def _postgres_url() -> tuple[str | None, str]:
    """The PostgreSQL URL to test against, or None with the reason it is skipped."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, ""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError as exc:
        return (
            None,
            f"no PostgreSQL server answers on 127.0.0.1:5432 ({exc}); set TEST_DATABASE_URL",
        )
    return "postgresql+psycopg://postgres@127.0.0.1:5432/test", ""


@pytest.fixture(autouse=True)
def no_stray_payout_worker() -> Iterator[None]:
    """Fail a test whose app left its payout recovery thread running (it would drive payouts
    in the shared test database for a dead app; see tests/gateway/payouts/test_runtime.py)."""
    yield
    stray = [t.name for t in threading.enumerate() if t.name == "payout-recovery" and t.is_alive()]
    assert not stray, "a payout-recovery worker outlived its app"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only real datasets; tests that need them skip where they are absent."""
    if not (SHARED_DIR / "datasets").is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated engine per backend; PostgreSQL gets a private schema so runs never collide."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        eng = make_engine(f"sqlite:///{path}")
        migrate.upgrade(eng)
        yield eng
        eng.dispose()
        return
    url, reason = _postgres_url()
    if url is None:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    migrate.upgrade(eng)
    yield eng
    eng.dispose()
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A session factory over a database emptied after each test."""
    yield make_session_factory(engine)
    from gateway.models import Base

    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s
        s.rollback()
