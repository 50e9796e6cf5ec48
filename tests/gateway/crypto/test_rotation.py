"""`keys rotate` re-wraps every envelope in batches, online, without touching plaintext."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto.envelope import envelope_kek_id, open_sealed, seal
from gateway.crypto.keyring import KeyStore
from gateway.crypto.registry import envelope_columns
from gateway.crypto.repository import swap_blob
from gateway.crypto.rotation import rewrap_all


@pytest.fixture
def vault(engine: Engine) -> Iterator[Table]:
    """A throwaway table of envelopes, outside the models' metadata."""
    table = Table(
        f"vault_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("owner", String(16)),
        Column("blob", LargeBinary, nullable=True),
    )
    table.create(engine)
    yield table
    table.drop(engine)


def _aad(row_id: int) -> bytes:
    return f"vault:{row_id}".encode()


def test_rotation_rewraps_every_row_in_batches(
    vault: Table, key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as session:
        session.execute(
            insert(vault),
            [{"id": i, "owner": "x", "blob": seal(f"secret {i}".encode(), aad=_aad(i))}
             for i in range(1, 24)]
            + [{"id": 99, "owner": "x", "blob": None}],
        )  # fmt: skip
    old = key_store.current().active_kek
    key_store.save(key_store.current().with_new_kek())
    new = key_store.current().active_kek
    pages: list[int] = []
    report = rewrap_all(
        session_factory=session_factory,
        store=key_store,
        batch_size=5,
        columns=[(vault, "blob")],
        progress=lambda _name, n: pages.append(n),
    )
    assert report.rewrapped[f"{vault.name}.blob"] == 23
    assert pages == [5, 5, 5, 5, 3]
    with session_factory() as session:
        rows = session.execute(select(vault.c.id, vault.c.blob).where(vault.c.blob.is_not(None)))
        for row_id, blob in rows:
            assert envelope_kek_id(blob) == new != old
            assert open_sealed(blob, aad=_aad(row_id)) == f"secret {row_id}".encode()
    again = rewrap_all(session_factory=session_factory, store=key_store, columns=[(vault, "blob")])
    assert again.total_rewrapped == 0 and again.current[f"{vault.name}.blob"] == 23


def test_a_row_changed_during_rotation_is_not_overwritten(
    vault: Table, key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    stale, fresh = seal(b"old", aad=_aad(1)), seal(b"new", aad=_aad(1))
    with session_factory.begin() as session:
        session.execute(insert(vault).values(id=1, owner="x", blob=fresh))
    with session_factory.begin() as session:
        assert not swap_blob(session, table=vault, column="blob", key=(1,), old=stale, new=stale)
    with session_factory() as session:
        assert session.scalar(select(vault.c.blob)) == fresh


def test_rotation_finds_every_domains_sealed_column() -> None:
    """Nothing registered by the test: the columns the domains type `SealedBytes` are found
    once rotation is loaded, so a domain whose sealed column were missed would fail here."""
    import gateway.crypto.rotation  # noqa: F401

    found = {(c.table, c.column) for c in envelope_columns()}
    assert {
        ("people", "nik_ciphertext"),
        ("biometric_templates", "envelope"),
        ("case_workers", "envelope"),
    } <= found
