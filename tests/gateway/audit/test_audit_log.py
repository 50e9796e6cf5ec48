"""The audit chain: appends serialise, and any edit or deletion is found and named."""

from __future__ import annotations

import hashlib
import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.audit.models import AuditEntry, AuditHead
from gateway.audit.service import (
    AuditChainBroken,
    AuditKind,
    append,
    canonical_json,
    verify_chain,
)
from gateway.crypto.keyring import KeyStore
from gateway.db import unit_of_work
from tests.gateway.signing import SignedClient


def _fill(factory: sessionmaker[Session], n: int) -> None:
    for i in range(n):
        with unit_of_work(factory) as session:
            append(
                session=session,
                kind=AuditKind.verification,
                actor="terminal:T-1",
                subject=f"person:p_{i}",
                data={"decision": "match", "score": 0.5 + i / 100, "i": i},
            )


def test_appended_entries_chain_and_verify(
    key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    _fill(session_factory, 5)
    with session_factory() as session:
        result = verify_chain(session=session)
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert result.ok and result.entries == 5 and result.head_seq == 5
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(a.mac == b.prev_mac for a, b in itertools.pairwise(entries))
    assert entries[0].prev_mac == bytes(32)


def test_empty_log_verifies(key_store: KeyStore, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert verify_chain(session=session).ok


def test_canonical_json_is_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == canonical_json({"a": [1, "é"], "b": 1})
    assert canonical_json({"a": 1}) == b'{"a":1}'


@pytest.mark.parametrize(
    "edit",
    [
        {"data": {"decision": "no_match", "score": 0.51, "i": 1}},
        {"subject": "person:p_99"},
        {"kind": "payout"},
    ],
)
def test_edited_entry_is_named(
    key_store: KeyStore, session_factory: sessionmaker[Session], edit: dict[str, object]
) -> None:
    _fill(session_factory, 4)
    with session_factory.begin() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(**edit))
    with session_factory() as session:
        result = verify_chain(session=session)
    assert not result.ok
    assert result.broken_seq == 2 and result.entries == 1
    assert "changed" in (result.reason or "")


def test_edited_timestamp_is_named(
    key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    _fill(session_factory, 3)
    with session_factory.begin() as session:
        entry = session.get(AuditEntry, 3)
        assert entry is not None
        entry.at = entry.at - timedelta(hours=1)
    with session_factory() as session:
        assert verify_chain(session=session).broken_seq == 3


def test_deleted_middle_and_tail_entries_are_named(
    key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    _fill(session_factory, 5)
    with session_factory.begin() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
    with session_factory() as session:
        tail = verify_chain(session=session)
    assert not tail.ok and tail.broken_seq == 5 and "head records 5" in (tail.reason or "")
    with session_factory.begin() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
    with session_factory() as session:
        middle = verify_chain(session=session)
    assert not middle.ok and middle.broken_seq == 3 and "missing" in (middle.reason or "")


def test_rewritten_chain_without_the_key_is_detected(
    key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    """An attacker recomputing plain SHA-256 links cannot forge the keyed MACs."""
    _fill(session_factory, 2)
    with session_factory.begin() as session:
        first = session.get(AuditEntry, 1)
        assert first is not None
        first.data = {"decision": "forged"}
        first.mac = hashlib.sha256(first.prev_mac + json.dumps(first.data).encode()).digest()
        second = session.get(AuditEntry, 2)
        assert second is not None
        second.prev_mac = first.mac
    with session_factory() as session:
        assert verify_chain(session=session).broken_seq == 1


def test_concurrent_appends_never_fork_the_chain(
    key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: _fill(session_factory, 5), range(6)))
    with session_factory() as session:
        result = verify_chain(session=session)
        count = session.scalar(select(func.count()).select_from(AuditEntry))
        head = session.get(AuditHead, 1)
    assert count == 30 and result.ok and result.entries == 30
    assert head is not None and head.seq == 30


def test_rolled_back_decisions_leave_no_entry(
    key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    _fill(session_factory, 1)
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        append(session=session, kind="payout", actor="system", subject="payout:1")
        raise RuntimeError("the payout failed")
    _fill(session_factory, 1)
    with session_factory() as session:
        result = verify_chain(session=session)
    assert result.ok and result.entries == 2


def test_deleted_head_beside_entries_refuses_appends(
    key_store: KeyStore, session_factory: sessionmaker[Session]
) -> None:
    _fill(session_factory, 2)
    with session_factory.begin() as session:
        session.execute(delete(AuditHead))
    with pytest.raises(AuditChainBroken), unit_of_work(session_factory) as session:
        append(session=session, kind="payout", actor="system", subject="payout:1")


def test_auditors_read_entries_and_the_chain_status(
    ops_client: SignedClient, session_factory: sessionmaker[Session]
) -> None:
    _fill(session_factory, 3)
    listed = ops_client.get("/v1/ops/audit", params={"subject": "person:p_1"})
    assert listed.status_code == 200, listed.text
    assert [(e["seq"], e["kind"]) for e in listed.json()] == [(3, "verification")]
    status = ops_client.get("/v1/ops/audit/verify").json()
    # The ops operator's own registration is the first entry.
    assert status["ok"] is True and status["entries"] == 4
    unsigned = ops_client.api.get("/v1/ops/audit/verify")
    assert unsigned.status_code == 401
