"""The ops API's request and response models for terminals, devices and operators."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway.terminals.models import OperatorRole, PrincipalStatus

_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class TerminalCreate(BaseModel):
    id: str = Field(pattern=_ID, examples=["T-3201-0001"])
    agent_name: str = Field(min_length=1, max_length=200)
    bank_code: str = Field(pattern=r"^[A-Za-z0-9]{2,16}$", examples=["BRI"])
    province_code: str = Field(pattern=r"^\d{2}$", examples=["32"])
    regency_code: str = Field(pattern=r"^\d{2}$", examples=["01"])
    public_key: str = Field(description="Ed25519 public key: raw 32 bytes base64, or PEM")


class KeyChange(BaseModel):
    public_key: str = Field(description="New Ed25519 public key: raw 32 bytes base64, or PEM")


class StatusChange(BaseModel):
    status: PrincipalStatus
    reason: str | None = Field(default=None, max_length=200)


class TerminalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agent_name: str
    bank_code: str
    province_code: str
    regency_code: str
    public_key: str
    status: PrincipalStatus
    status_reason: str | None
    created_at: datetime
    updated_at: datetime


class DeviceCreate(BaseModel):
    id: str = Field(pattern=_ID, examples=["D-3201-0001-a"])
    model: str = Field(default="", max_length=100)
    public_key: str = Field(description="Ed25519 public key: raw 32 bytes base64, or PEM")


class DeviceOut(BaseModel):
    id: str
    terminal_id: str
    model: str
    public_key: str
    status: PrincipalStatus
    created_at: datetime


class OperatorOut(BaseModel):
    id: str
    name: str
    role: OperatorRole
    public_key: str
    status: PrincipalStatus
