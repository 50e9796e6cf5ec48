"""Migrations run on every configured backend and leave a version table behind."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine


def test_migrations_reach_every_head(engine: Engine) -> None:
    assert "alembic_version" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        versions = {
            row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))
        }
    assert versions
