"""Migrations run on every configured backend and leave a version table behind; read
snapshots run beside writers."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from gateway.db import make_engine, make_session_factory, read_snapshot, unit_of_work


def test_migrations_reach_every_head(engine: Engine) -> None:
    assert "alembic_version" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        versions = {
            row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))
        }
    assert versions


def test_migrations_match_the_models(engine: Engine) -> None:
    """A model changed without its migration (or the reverse) shows up as a schema diff."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from gateway.models import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diff = [
            change
            for change in compare_metadata(context, Base.metadata)
            if not (
                isinstance(change, tuple)
                and change[0] == "remove_table"
                and change[1].name == "alembic_version"
            )
        ]
    assert diff == []


def test_a_read_snapshot_reads_beside_an_open_writer(engine: Engine) -> None:
    """A read snapshot does not wait for the write lock, which SQLite gives a writer for its
    whole transaction (a BEGIN IMMEDIATE here would wait 30 s, then fail), and does not see
    the writer's uncommitted rows."""
    factory = make_session_factory(engine)
    count = text("SELECT count(*) FROM snapshot_probe")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE snapshot_probe (n INTEGER)"))
    try:
        with unit_of_work(factory) as writer:
            writer.execute(text("INSERT INTO snapshot_probe VALUES (1)"))
            began = time.monotonic()
            with read_snapshot(factory) as reader:
                assert reader.scalar(count) == 0
            assert time.monotonic() - began < 5
        with read_snapshot(factory) as reader:
            assert reader.scalar(count) == 1
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE snapshot_probe"))


def test_an_idle_connection_the_server_dropped_is_replaced_before_use(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pings are kept for idle connections only; a dead one is swapped, not handed out."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL pool behaviour (SQLite has no server to drop a connection)")
    import gateway.db

    monkeypatch.setattr(gateway.db, "IDLE_BEFORE_PING_S", 0.0)
    pooled = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        with pooled.connect() as connection:
            first_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.begin() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first_pid})
        time.sleep(0.2)  # the server closes the backend asynchronously
        with pooled.connect() as connection:
            second_pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert second_pid != first_pid
    finally:
        pooled.dispose()


def test_a_postgresql_read_snapshot_skips_begin_and_hands_back_a_transactional_connection(
    engine: Engine,
) -> None:
    """Autocommit for the snapshot's reads only: the pooled connection's next unit of work is
    a transaction again (a write in it rolls back)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's snapshot is a deferred transaction")
    pooled = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    factory = make_session_factory(pooled)
    try:
        with read_snapshot(factory) as session:
            assert session.connection().connection.dbapi_connection.autocommit is True
            session.execute(text("SELECT 1"))
        with pytest.raises(RuntimeError), unit_of_work(factory) as session:
            assert session.connection().connection.dbapi_connection.autocommit is False
            session.execute(text("CREATE TEMPORARY TABLE kept_only_if_committed (x int)"))
            raise RuntimeError("roll back")
        with unit_of_work(factory) as session:
            tables = session.execute(
                text("SELECT count(*) FROM pg_tables WHERE tablename = 'kept_only_if_committed'")
            ).scalar_one()
        assert tables == 0
    finally:
        pooled.dispose()
