"""Engine, session factory and declarative base shared by every domain's models."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; every model module registers its tables on this metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the per-backend settings the gateway relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # One thread per engine asks for the write lock at a time; the others wait here on a
        # Python lock, spending no CPU on polls of their own.
        queue = threading.Lock()
        event.listen(engine, "begin", lambda connection: _sqlite_begin(connection, queue))
        return engine
    kwargs.setdefault("pool_size", 20)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkin", _note_return)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled connection unused this long is pinged before it is handed out. SQLAlchemy's
# `pool_pre_ping` pings on every checkout: a round trip per transaction (two per verification,
# three per payout) spent on connections that served a request a millisecond ago. A server
# restart or an idle timeout leaves connections that sat unused, and those are still caught.
IDLE_BEFORE_PING_S = 5.0


def _note_return(_dbapi_connection: Any, record: Any) -> None:
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    returned_at = record.info.get("returned_at")
    if returned_at is None or time.monotonic() - returned_at < IDLE_BEFORE_PING_S:
        return  # a connection just opened, or one in steady use
    try:
        dbapi_connection.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:
        # The pool discards this connection and checks out (or opens) another.
        raise DisconnectionError(f"an idle pooled connection is dead: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the single writer; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Take transaction control from pysqlite, which would otherwise let a SAVEPOINT run
    # outside any transaction (so releasing it commits) and defer BEGIN until the first write.
    dbapi_connection.isolation_level = None


# Execution option marking a transaction that only reads (see `read_snapshot`).
READ_SNAPSHOT = "satupintu_read_snapshot"


# How long a transaction waits for SQLite's write lock, and how often it asks meanwhile.
_SQLITE_LOCK_WAIT_S = 30.0
_SQLITE_LOCK_POLL_S = (0.0002, 0.002)


def _sqlite_begin(connection: Any, queue: threading.Lock) -> None:
    """IMMEDIATE takes the write lock up front, so two writers never deadlock mid-transaction;
    a `read_snapshot` begins deferred and takes no lock.

    The lock is polled every 0.2-2 ms by one thread of the process at a time, rather than
    left to SQLite's busy handler in every waiting thread, whose back-off (1, 2, 5 ... 100 ms
    sleeps) starves a waiter for seconds under steady load.
    """
    raw = connection.connection.dbapi_connection
    if connection.get_execution_options().get(READ_SNAPSHOT):
        raw.execute("BEGIN")  # deferred: a reader in WAL mode waits for no one
        return
    deadline = time.monotonic() + _SQLITE_LOCK_WAIT_S
    pause, longest = _SQLITE_LOCK_POLL_S
    with queue:
        raw.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                time.sleep(pause)
                pause = min(longest, pause * 2)
        finally:
            raw.execute(f"PRAGMA busy_timeout={int(_SQLITE_LOCK_WAIT_S * 1000)}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def read_snapshot(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction that only reads, rolled back at the end.

    On SQLite it begins deferred, so it neither takes nor waits for the single write lock
    and reads one consistent snapshot beside the writer (WAL); the work a request can do on
    what it read (biometric comparison, say) then stays out of the write transaction that
    follows. On PostgreSQL its statements run in autocommit: under read committed each
    statement sees its own snapshot anyway, and BEGIN and ROLLBACK would cost two round trips.
    What it read may change before the writes, so a write transaction re-checks what must
    still hold when it commits.
    """
    session = factory()
    try:
        options: dict[str, Any] = {READ_SNAPSHOT: True}
        if session.get_bind().dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        session.connection(execution_options=options)
        yield session
    finally:
        session.close()


@contextmanager
def single_write(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for writes that must be durable at once, each standing on its own.

    On PostgreSQL every statement runs in autocommit: one round trip, where BEGIN, the write
    and COMMIT would be three, and a failed statement leaves nothing behind. Elsewhere it is
    an ordinary unit of work (on SQLite that takes the write lock like any other). Use it
    only where no two statements need to commit together.
    """
    session = factory()
    if session.get_bind().dialect.name != "postgresql":
        session.close()
        with unit_of_work(factory) as session:
            yield session
        return
    try:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session
    finally:
        session.close()


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error (services never commit)."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
