"""What a CLI command needs: settings, a migrated database and the installed key ring."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from gateway import migrate
from gateway.crypto.keyring import KeyStore, install_key_store
from gateway.db import make_engine, make_session_factory
from gateway.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    session_factory: sessionmaker[Session]
    store: KeyStore


@contextmanager
def open_runtime(settings: Settings | None = None) -> Iterator[Runtime]:
    settings = settings or Settings()
    store = KeyStore.from_settings(settings)
    previous = install_key_store(store)
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate.upgrade(engine)
        yield Runtime(settings, make_session_factory(engine), store)
    finally:
        engine.dispose()
        install_key_store(previous)
