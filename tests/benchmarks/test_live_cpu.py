"""The database server's CPU is counted only where it shares the gateway's machine."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import create_engine, text

from benchmarks.live import (
    backend_cpu_seconds,
    cpu_delta,
    database_cpu_seconds,
    postgres_cpu_by_pid,
)


@pytest.mark.parametrize(
    "url",
    ["", "sqlite:////tmp/x.db", "postgresql+psycopg://postgres@db.example.org:5432/test"],
)
def test_no_database_cpu_for_sqlite_or_a_remote_server(url: str) -> None:
    assert database_cpu_seconds(url) is None


def test_a_missing_reading_gives_no_delta() -> None:
    assert cpu_delta(None, 2.0) is None
    assert cpu_delta(1.0, None) is None
    assert cpu_delta(1.0, 2.5) == 1.5


@pytest.mark.postgres
def test_local_postgresql_work_shows_as_server_cpu() -> None:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server answers on 127.0.0.1:5432 ({exc})")
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            before = database_cpu_seconds(url)
            connection.execute(text("SELECT count(*) FROM generate_series(1, 3000000)")).scalar()
            # Read while the server process that did the work is still there.
            spent = cpu_delta(before, database_cpu_seconds(url))
    finally:
        engine.dispose()
    assert spent is not None and spent > 0.05


@pytest.mark.parametrize(
    "url",
    ["", "sqlite:////tmp/x.db", "postgresql+psycopg://postgres@db.example.org:5432/test"],
)
def test_no_backend_cpu_for_sqlite_or_a_remote_server(url: str) -> None:
    assert backend_cpu_seconds(url, "anyone", {}) is None


@pytest.mark.postgres
def test_only_the_named_client_backends_count() -> None:
    """Work done on a connection under another application name is not the gateway's."""
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError as exc:
        pytest.skip(f"no PostgreSQL server answers on 127.0.0.1:5432 ({exc})")
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ours = create_engine(url, connect_args={"application_name": "bench-ours"})
    theirs = create_engine(url, connect_args={"application_name": "bench-theirs"})
    work = text("SELECT count(*) FROM generate_series(1, 3000000)")
    try:
        with ours.connect() as mine, theirs.connect() as other:
            mine.execute(text("SELECT 1")).scalar()
            before = postgres_cpu_by_pid()
            other.execute(work).scalar()
            idle = backend_cpu_seconds(url, "bench-ours", before)
            mine.execute(work).scalar()
            busy = backend_cpu_seconds(url, "bench-ours", before)
    finally:
        ours.dispose()
        theirs.dispose()
    assert idle is not None and idle < 0.05
    assert busy is not None and busy > 0.05
