"""Append decisions to the chained audit log and prove the chain intact.

Each entry's MAC is HMAC-SHA256, under the ring's audit key, of the previous entry's MAC and
the entry's canonical JSON. A keyed MAC rather than a bare hash means someone with write
access to the database but not the key ring cannot rewrite the chain after an edit. The head
row holds the last sequence number and MAC, so deleting the newest entries shows too.

Appends are serialised by the head row (its UPDATE takes PostgreSQL's row lock, or SQLite's
single writer lock) until the appending transaction commits, so append late in a unit of work.

Entries describe decisions with references (person reference, terminal id, payout id), never
a NIK, a name, a template or a key: the log is kept for years and read by auditors.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.audit import repository
from gateway.audit.models import AuditEntry
from gateway.crypto.keyring import KeyStore, key_store
from gateway.errors import GatewayError

GENESIS_MAC = bytes(32)


class AuditKind(enum.StrEnum):
    """The decisions that must be audited; domains may add their own strings."""

    enrollment = "enrollment"
    adjudication = "adjudication"
    verification = "verification"
    unlock = "unlock"
    fallback = "fallback"
    payout = "payout"
    reversal = "reversal"
    key_rotation = "key_rotation"
    terminal = "terminal"
    operator = "operator"


class AuditChainBroken(GatewayError):
    status = 500
    code = "audit_chain_broken"


def canonical_json(value: dict[str, Any]) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (RFC 8785-like for our data)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_mac(
    *,
    key: bytes,
    prev_mac: bytes,
    seq: int,
    at: datetime,
    kind: str,
    actor: str,
    subject: str,
    data: dict[str, Any],
) -> bytes:
    body = canonical_json(
        {
            "seq": seq,
            "at": _at_text(at),
            "kind": kind,
            "actor": actor,
            "subject": subject,
            "data": data,
        }
    )
    return hmac.new(key, prev_mac + body, hashlib.sha256).digest()


def append(
    *,
    session: Session,
    kind: str,
    actor: str,
    subject: str,
    data: dict[str, Any] | None = None,
    store: KeyStore | None = None,
) -> int:
    """Chain one decision into the log inside the caller's transaction (commits with it);
    its sequence number.

    `actor` is who decided (`terminal:T-1`, `operator:ops-2`, `system`); `subject` what it is
    about (`person:p_ab12`, `payout:42`). `data` must be JSON with no personal data.
    """
    data = json.loads(canonical_json(data or {}))
    advanced = repository.advance_head(session)
    if advanced is None:
        # Only an empty log may start a head: a missing head beside entries means tampering.
        try:
            with session.begin_nested():
                repository.create_head(session)
            created = True
        except IntegrityError:
            created = False  # a concurrent first append created it
        if created and repository.count_entries(session):
            raise AuditChainBroken("The audit head is missing while entries exist.")
        advanced = repository.advance_head(session)
        assert advanced is not None
    seq, prev_mac = advanced
    at = datetime.now(UTC)
    mac = entry_mac(
        key=(store or key_store()).current().audit_key,
        prev_mac=prev_mac,
        seq=seq,
        at=at,
        kind=str(kind),
        actor=actor,
        subject=subject,
        data=data,
    )
    repository.insert_entry(
        session,
        {
            "seq": seq,
            "at": at,
            "kind": str(kind),
            "actor": actor,
            "subject": subject,
            "data": data,
            "prev_mac": prev_mac,
            "mac": mac,
        },
    )
    return seq


@dataclass(frozen=True)
class VerifyResult:
    """`ok`, how many entries were checked, and the first broken link if any."""

    ok: bool
    entries: int
    head_seq: int
    head_mac: str
    broken_seq: int | None = None
    reason: str | None = None


def verify_chain(*, session: Session, store: KeyStore | None = None) -> VerifyResult:
    """Walk the log from the start; name the first entry that was edited, moved or removed."""
    key = (store or key_store()).current().audit_key
    head = repository.get_head(session)
    head_seq = head.seq if head is not None else 0
    head_mac = bytes(head.mac) if head is not None else GENESIS_MAC
    expected_seq, prev_mac, checked = 1, GENESIS_MAC, 0

    def broken(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, head_seq, head_mac.hex(), seq, reason)

    for entry in repository.iter_entries(session):
        if entry.seq != expected_seq:
            return broken(expected_seq, f"entry {expected_seq} is missing (next is {entry.seq})")
        if bytes(entry.prev_mac) != prev_mac:
            return broken(entry.seq, "its link to the previous entry does not match")
        recomputed = entry_mac(
            key=key,
            prev_mac=prev_mac,
            seq=entry.seq,
            at=entry.at,
            kind=entry.kind,
            actor=entry.actor,
            subject=entry.subject,
            data=entry.data,
        )
        if not hmac.compare_digest(recomputed, bytes(entry.mac)):
            return broken(entry.seq, "its content was changed after it was written")
        prev_mac, expected_seq, checked = bytes(entry.mac), entry.seq + 1, checked + 1
    if checked != head_seq:
        return broken(checked + 1, f"the head records {head_seq} entries but {checked} remain")
    if not hmac.compare_digest(prev_mac, head_mac):
        return broken(checked, "the head's MAC does not match the last entry")
    return VerifyResult(True, checked, head_seq, head_mac.hex())


def entries_about(*, session: Session, subject: str, limit: int = 100) -> list[AuditEntry]:
    """The latest decisions about one subject (`person:p_ab12`, `terminal:T-1`)."""
    return repository.entries_for_subject(session, subject, limit=limit)


def browse(
    *,
    session: Session,
    kind: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """Entries for an auditor reading the log, newest first (see `repository.browse`)."""
    return repository.browse(
        session, kind=kind, actor=actor, subject=subject, before=before, limit=limit
    )
