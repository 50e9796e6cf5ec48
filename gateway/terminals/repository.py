"""Every query of the terminals domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select
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


_TERMINALS = Terminal.__table__
_DEVICES = CaptureDevice.__table__
_OPERATORS = Operator.__table__
# Core statements for the per-request checks: a signed request reads one principal row and
# writes one nonce, and the ORM's identity map and flush would cost more than the queries.
_TERMINAL_COLUMNS = (
    _TERMINALS.c.id,
    _TERMINALS.c.public_key,
    _TERMINALS.c.status,
    _TERMINALS.c.agent_name,
    _TERMINALS.c.bank_code,
    _TERMINALS.c.province_code,
    _TERMINALS.c.regency_code,
)
_TERMINAL_AUTH = select(*_TERMINAL_COLUMNS).where(_TERMINALS.c.id == bindparam("id"))
_OPERATOR_AUTH = select(
    _OPERATORS.c.id,
    _OPERATORS.c.public_key,
    _OPERATORS.c.status,
    _OPERATORS.c.name,
    _OPERATORS.c.role,
).where(_OPERATORS.c.id == bindparam("id"))
_DEVICE_COLUMNS = (
    _DEVICES.c.id.label("device_id"),
    _DEVICES.c.terminal_id.label("device_terminal_id"),
    _DEVICES.c.public_key.label("device_public_key"),
    _DEVICES.c.status.label("device_status"),
)
_DEVICE_KEYS = select(*_DEVICE_COLUMNS).where(_DEVICES.c.id.in_(bindparam("ids", expanding=True)))
# A terminal and the capture devices a request used, in one statement (one row per device).
_TERMINAL_WITH_DEVICES = (
    select(*_TERMINAL_COLUMNS, *_DEVICE_COLUMNS)
    .select_from(
        _TERMINALS.outerjoin(_DEVICES, _DEVICES.c.id.in_(bindparam("ids", expanding=True)))
    )
    .where(_TERMINALS.c.id == bindparam("id"))
)


@dataclass(frozen=True)
class DeviceKeyRow:
    """A capture device's owner, key and status."""

    id: str
    terminal_id: str
    public_key: bytes
    status: PrincipalStatus


def _device(row: Row[Any]) -> DeviceKeyRow:
    return DeviceKeyRow(
        row.device_id, row.device_terminal_id, row.device_public_key, row.device_status
    )


def terminal_auth_row(session: Session, terminal_id: str) -> Row[Any] | None:
    """What authenticating a terminal needs (key, status, attributes), without the ORM."""
    return session.connection().execute(_TERMINAL_AUTH, {"id": terminal_id}).first()


def terminal_with_devices(
    session: Session, terminal_id: str, device_ids: Sequence[str]
) -> tuple[Row[Any] | None, dict[str, DeviceKeyRow]]:
    """The terminal's auth row and the named devices (whoever they belong to), in one query."""
    rows = (
        session.connection()
        .execute(_TERMINAL_WITH_DEVICES, {"id": terminal_id, "ids": list(device_ids)})
        .all()
    )
    devices = {row.device_id: _device(row) for row in rows if row.device_id is not None}
    return (rows[0] if rows else None), devices


def operator_auth_row(session: Session, operator_id: str) -> Row[Any] | None:
    return session.connection().execute(_OPERATOR_AUTH, {"id": operator_id}).first()


def device_key_rows(session: Session, device_ids: Sequence[str]) -> dict[str, DeviceKeyRow]:
    """Capture devices' owner, key and status, by id."""
    if not device_ids:
        return {}
    rows = session.connection().execute(_DEVICE_KEYS, {"ids": list(device_ids)})
    return {row.device_id: _device(row) for row in rows}


_INSERT_NONCE = insert(SeenNonce)  # built once: on every signed request's path


def record_nonce(session: Session, *, keyid: str, nonce: str, expires_at: datetime) -> None:
    """Insert the pair; the primary key raises IntegrityError if it was seen before."""
    session.connection().execute(
        _INSERT_NONCE, {"keyid": keyid, "nonce": nonce, "expires_at": expires_at}
    )


def purge_nonces(session: Session, *, now: datetime) -> int:
    """Drop pairs whose requests the freshness window would refuse anyway."""
    result = session.execute(delete(SeenNonce).where(SeenNonce.expires_at < now))
    return int(getattr(result, "rowcount", 0) or 0)
