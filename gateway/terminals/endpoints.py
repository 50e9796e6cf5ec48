"""Ops API for the terminal registry (signed by an `ops` operator) and a terminal self-check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from gateway.deps import SessionDep
from gateway.terminals import service
from gateway.terminals.auth import OperatorDep, OpsOperatorDep, TerminalDep
from gateway.terminals.models import PrincipalStatus
from gateway.terminals.schemas import (
    DeviceCreate,
    DeviceOut,
    KeyChange,
    OperatorOut,
    StatusChange,
    TerminalCreate,
    TerminalOut,
)

router = APIRouter(tags=["terminals"])


@router.post(
    "/v1/ops/terminals",
    status_code=status.HTTP_201_CREATED,
    summary="Register a terminal with its Ed25519 public key",
)
def create_terminal(
    body: TerminalCreate, operator: OpsOperatorDep, session: SessionDep
) -> TerminalOut:
    terminal = service.register_terminal(
        session=session,
        terminal_id=body.id,
        agent_name=body.agent_name,
        bank_code=body.bank_code,
        province_code=body.province_code,
        regency_code=body.regency_code,
        public_key=body.public_key,
        actor=f"operator:{operator.id}",
    )
    return service.terminal_out(terminal)


@router.get("/v1/ops/terminals", summary="List terminals (by id, paged with `after`)")
def list_terminals(
    operator: OperatorDep,
    session: SessionDep,
    status_filter: Annotated[PrincipalStatus | None, Query(alias="status")] = None,
    bank_code: str | None = None,
    province_code: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: str | None = None,
) -> list[TerminalOut]:
    rows = service.list_terminals(
        session=session,
        status=status_filter,
        bank_code=bank_code,
        province_code=province_code,
        limit=limit,
        after=after,
    )
    return [service.terminal_out(t) for t in rows]


@router.get("/v1/ops/terminals/{terminal_id}", summary="One terminal")
def get_terminal(terminal_id: str, operator: OperatorDep, session: SessionDep) -> TerminalOut:
    return service.terminal_out(service.get_terminal(session=session, terminal_id=terminal_id))


@router.post(
    "/v1/ops/terminals/{terminal_id}/status",
    summary="Suspend, reactivate or revoke a terminal (revoking is final)",
)
def change_terminal_status(
    terminal_id: str, body: StatusChange, operator: OpsOperatorDep, session: SessionDep
) -> TerminalOut:
    terminal = service.set_terminal_status(
        session=session,
        terminal_id=terminal_id,
        status=body.status,
        reason=body.reason,
        actor=f"operator:{operator.id}",
    )
    return service.terminal_out(terminal)


@router.post(
    "/v1/ops/terminals/{terminal_id}/key",
    summary="Replace a terminal's public key (the old key is refused from now on)",
)
def change_terminal_key(
    terminal_id: str, body: KeyChange, operator: OpsOperatorDep, session: SessionDep
) -> TerminalOut:
    terminal = service.replace_terminal_key(
        session=session,
        terminal_id=terminal_id,
        public_key=body.public_key,
        actor=f"operator:{operator.id}",
    )
    return service.terminal_out(terminal)


@router.post(
    "/v1/ops/terminals/{terminal_id}/devices",
    status_code=status.HTTP_201_CREATED,
    summary="Register a capture device (its own Ed25519 key) to a terminal",
)
def create_device(
    terminal_id: str, body: DeviceCreate, operator: OpsOperatorDep, session: SessionDep
) -> DeviceOut:
    device = service.register_device(
        session=session,
        terminal_id=terminal_id,
        device_id=body.id,
        model=body.model,
        public_key=body.public_key,
        actor=f"operator:{operator.id}",
    )
    return service.device_out(device)


@router.get("/v1/ops/terminals/{terminal_id}/devices", summary="A terminal's capture devices")
def list_devices(terminal_id: str, operator: OperatorDep, session: SessionDep) -> list[DeviceOut]:
    devices = service.list_devices(session=session, terminal_id=terminal_id)
    return [service.device_out(d) for d in devices]


@router.post("/v1/ops/devices/{device_id}/status", summary="Suspend, reactivate or revoke")
def change_device_status(
    device_id: str, body: StatusChange, operator: OpsOperatorDep, session: SessionDep
) -> DeviceOut:
    device = service.set_device_status(
        session=session, device_id=device_id, status=body.status, actor=f"operator:{operator.id}"
    )
    return service.device_out(device)


@router.get("/v1/ops/operators", summary="Operators of the ops API and their roles")
def list_operators(operator: OperatorDep, session: SessionDep) -> list[OperatorOut]:
    return [service.operator_out(o) for o in service.list_operators(session=session)]


@router.get(
    "/v1/terminals/me",
    summary="A terminal checks its own registration (and its signing setup) at start-up",
)
def whoami(terminal: TerminalDep, session: SessionDep) -> TerminalOut:
    return service.terminal_out(service.get_terminal(session=session, terminal_id=terminal.id))
