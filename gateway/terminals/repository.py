"""Every query of the terminals domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.terminals.models import CaptureDevice, Operator, PrincipalStatus, SeenNonce, Terminal


def get_terminal(session: Session, terminal_id: str) -> Terminal | None:
    return session.get(Terminal, terminal_id)


def list_terminals(
    session: Session,
    *,
    status: PrincipalStatus | None = None,
    bank_code: str | None = None,
    province_code: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> Sequence[Terminal]:
    query = select(Terminal).order_by(Terminal.id).limit(limit)
    if status is not None:
        query = query.where(Terminal.status == status)
    if bank_code is not None:
        query = query.where(Terminal.bank_code == bank_code)
    if province_code is not None:
        query = query.where(Terminal.province_code == province_code)
    if after is not None:
        query = query.where(Terminal.id > after)
    return session.scalars(query).all()


def get_device(session: Session, device_id: str) -> CaptureDevice | None:
    return session.get(CaptureDevice, device_id)


def list_devices(session: Session, terminal_id: str) -> Sequence[CaptureDevice]:
    query = select(CaptureDevice).where(CaptureDevice.terminal_id == terminal_id)
    return session.scalars(query.order_by(CaptureDevice.id)).all()


def get_operator(session: Session, operator_id: str) -> Operator | None:
    return session.get(Operator, operator_id)


def list_operators(session: Session) -> Sequence[Operator]:
    return session.scalars(select(Operator).order_by(Operator.id)).all()


def add(session: Session, row: Terminal | CaptureDevice | Operator) -> None:
    session.add(row)
    session.flush()


def record_nonce(session: Session, *, keyid: str, nonce: str, expires_at: datetime) -> None:
    """Insert the pair; the primary key raises IntegrityError if it was seen before."""
    session.add(SeenNonce(keyid=keyid, nonce=nonce, expires_at=expires_at))
    session.flush()


def purge_nonces(session: Session, *, now: datetime) -> int:
    """Drop pairs whose requests the freshness window would refuse anyway."""
    result = session.execute(delete(SeenNonce).where(SeenNonce.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
