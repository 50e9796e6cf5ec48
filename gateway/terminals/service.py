"""Registering terminals, devices and operators and changing their status (never commits)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from gateway.audit.service import AuditKind, append
from gateway.terminals import repository
from gateway.terminals.errors import PrincipalExists, PrincipalNotFound, StatusChangeRefused
from gateway.terminals.keys import encode_public_key, parse_public_key
from gateway.terminals.models import (
    CaptureDevice,
    Operator,
    OperatorRole,
    PrincipalStatus,
    Terminal,
)
from gateway.terminals.schemas import DeviceOut, OperatorOut, TerminalOut


def terminal_out(terminal: Terminal) -> TerminalOut:
    return TerminalOut(
        id=terminal.id,
        agent_name=terminal.agent_name,
        bank_code=terminal.bank_code,
        province_code=terminal.province_code,
        regency_code=terminal.regency_code,
        public_key=encode_public_key(terminal.public_key),
        status=terminal.status,
        status_reason=terminal.status_reason,
        created_at=terminal.created_at,
        updated_at=terminal.updated_at,
    )


def device_out(device: CaptureDevice) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        terminal_id=device.terminal_id,
        model=device.model,
        public_key=encode_public_key(device.public_key),
        status=device.status,
        created_at=device.created_at,
    )


def operator_out(operator: Operator) -> OperatorOut:
    return OperatorOut(
        id=operator.id,
        name=operator.name,
        role=operator.role,
        public_key=encode_public_key(operator.public_key),
        status=operator.status,
    )


def register_terminal(
    *,
    session: Session,
    terminal_id: str,
    agent_name: str,
    bank_code: str,
    province_code: str,
    regency_code: str,
    public_key: str,
    actor: str,
) -> Terminal:
    if repository.get_terminal(session, terminal_id) is not None:
        raise PrincipalExists("A terminal with this id already exists.")
    terminal = Terminal(
        id=terminal_id,
        agent_name=agent_name,
        bank_code=bank_code.upper(),
        province_code=province_code,
        regency_code=regency_code,
        public_key=parse_public_key(public_key),
        status=PrincipalStatus.active,
    )
    repository.add(session, terminal)
    append(
        session=session,
        kind=AuditKind.terminal,
        actor=actor,
        subject=f"terminal:{terminal_id}",
        data={"event": "registered", "bank_code": terminal.bank_code},
    )
    return terminal


def get_terminal(*, session: Session, terminal_id: str) -> Terminal:
    terminal = repository.get_terminal(session, terminal_id)
    if terminal is None:
        raise PrincipalNotFound("No such terminal.")
    return terminal


def list_terminals(
    *,
    session: Session,
    status: PrincipalStatus | None = None,
    bank_code: str | None = None,
    province_code: str | None = None,
    limit: int = 100,
    after: str | None = None,
) -> Sequence[Terminal]:
    return repository.list_terminals(
        session,
        status=status,
        bank_code=bank_code,
        province_code=province_code,
        limit=limit,
        after=after,
    )


def _check_transition(current: PrincipalStatus, new: PrincipalStatus) -> None:
    if current == PrincipalStatus.revoked and new != PrincipalStatus.revoked:
        raise StatusChangeRefused("A revoked key stays revoked; register a new key instead.")


def set_terminal_status(
    *,
    session: Session,
    terminal_id: str,
    status: PrincipalStatus,
    reason: str | None,
    actor: str,
) -> Terminal:
    """Suspend, reactivate or revoke; revoking also revokes the terminal's capture devices."""
    terminal = get_terminal(session=session, terminal_id=terminal_id)
    _check_transition(terminal.status, status)
    terminal.status = status
    terminal.status_reason = reason
    if status == PrincipalStatus.revoked:
        for device in repository.list_devices(session, terminal_id):
            device.status = PrincipalStatus.revoked
    session.flush()
    append(
        session=session,
        kind=AuditKind.terminal,
        actor=actor,
        subject=f"terminal:{terminal_id}",
        data={"event": "status", "status": status.value},
    )
    return terminal


def replace_terminal_key(
    *, session: Session, terminal_id: str, public_key: str, actor: str
) -> Terminal:
    """Re-key a terminal (new device, suspected leak): the old key stops working at once."""
    terminal = get_terminal(session=session, terminal_id=terminal_id)
    if terminal.status == PrincipalStatus.revoked:
        raise StatusChangeRefused("A revoked terminal cannot be re-keyed; register a new one.")
    terminal.public_key = parse_public_key(public_key)
    session.flush()
    append(
        session=session,
        kind=AuditKind.terminal,
        actor=actor,
        subject=f"terminal:{terminal_id}",
        data={"event": "rekeyed"},
    )
    return terminal


def register_device(
    *,
    session: Session,
    terminal_id: str,
    device_id: str,
    model: str,
    public_key: str,
    actor: str,
) -> CaptureDevice:
    terminal = get_terminal(session=session, terminal_id=terminal_id)
    if terminal.status == PrincipalStatus.revoked:
        raise StatusChangeRefused("A revoked terminal takes no new devices.")
    if repository.get_device(session, device_id) is not None:
        raise PrincipalExists("A capture device with this id already exists.")
    device = CaptureDevice(
        id=device_id,
        terminal_id=terminal_id,
        model=model,
        public_key=parse_public_key(public_key),
        status=PrincipalStatus.active,
    )
    repository.add(session, device)
    append(
        session=session,
        kind=AuditKind.terminal,
        actor=actor,
        subject=f"terminal:{terminal_id}",
        data={"event": "device_registered", "device_id": device_id},
    )
    return device


def list_devices(*, session: Session, terminal_id: str) -> Sequence[CaptureDevice]:
    get_terminal(session=session, terminal_id=terminal_id)
    return repository.list_devices(session, terminal_id)


def set_device_status(
    *, session: Session, device_id: str, status: PrincipalStatus, actor: str
) -> CaptureDevice:
    device = repository.get_device(session, device_id)
    if device is None:
        raise PrincipalNotFound("No such capture device.")
    _check_transition(device.status, status)
    device.status = status
    session.flush()
    append(
        session=session,
        kind=AuditKind.terminal,
        actor=actor,
        subject=f"terminal:{device.terminal_id}",
        data={"event": "device_status", "device_id": device_id, "status": status.value},
    )
    return device


def register_operator(
    *,
    session: Session,
    operator_id: str,
    name: str,
    role: OperatorRole,
    public_key: str,
    actor: str,
) -> Operator:
    if repository.get_operator(session, operator_id) is not None:
        raise PrincipalExists("An operator with this id already exists.")
    operator = Operator(
        id=operator_id,
        name=name,
        role=role,
        public_key=parse_public_key(public_key),
        status=PrincipalStatus.active,
    )
    repository.add(session, operator)
    append(
        session=session,
        kind=AuditKind.operator,
        actor=actor,
        subject=f"operator:{operator_id}",
        data={"event": "registered", "role": role.value},
    )
    return operator


def set_operator_status(
    *, session: Session, operator_id: str, status: PrincipalStatus, actor: str
) -> Operator:
    operator = repository.get_operator(session, operator_id)
    if operator is None:
        raise PrincipalNotFound("No such operator.")
    _check_transition(operator.status, status)
    operator.status = status
    session.flush()
    append(
        session=session,
        kind=AuditKind.operator,
        actor=actor,
        subject=f"operator:{operator_id}",
        data={"event": "status", "status": status.value},
    )
    return operator


def list_operators(*, session: Session) -> Sequence[Operator]:
    return repository.list_operators(session)
