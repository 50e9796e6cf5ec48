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
