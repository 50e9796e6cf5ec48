"""The payout API's request and response models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PayoutCreate(BaseModel):
    """A one-stop payment: the verification token, where the money goes, optionally which lines."""

    token: str = Field(min_length=10, max_length=2048)
    channel: Literal["cash_out", "account_credit"] = "cash_out"
    lines: list[str] | None = Field(
        default=None,
        max_length=64,
        description="`PROG.component:subject` keys from GET /v1/entitlements; omit to pay all",
    )


class EntitlementLineOut(BaseModel):
    key: str
    programme: str
    component: str
    subject: str
    period: str
    amount: int
    reason: str


class EntitlementsOut(BaseModel):
    household: str
    day: date
    lines: list[EntitlementLineOut]
    total: int


class PayoutLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight off the ORM rows

    programme: str
    component: str
    subject: str
    period: str
    amount: int


class PayoutOut(BaseModel):
    reference: str
    state: Literal["reserved", "submitted", "committed", "voided", "needs_review", "reversed"]
    household: str
    channel: str
    amount: int
    lines: list[PayoutLineOut]
    failure_code: str | None = None
    failure_reason: str | None = None
    created_at: datetime
    receipt: str


class PayoutAccountIn(BaseModel):
    owner_kind: Literal["household", "terminal"]
    owner_id: str = Field(min_length=1, max_length=64)
    bank_code: str = Field(min_length=3, max_length=16)
    number: str = Field(pattern=r"^\d{1,34}$")
    name: str = Field(default="", max_length=140)


class ReconciliationIn(BaseModel):
    bank: str = Field(min_length=3, max_length=16)
    day: date


class BalanceOut(BaseModel):
    code: str
    posted: int
    pending_debits: int
    available: int


class ReviewItemOut(BaseModel):
    reference: str
    bank: str
    amount: int
    reason: str | None
    detail: str | None
    created_at: datetime
    updated_at: datetime
    awaiting_approval: bool = False


class LateAnswerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight off the ORM rows

    epoch: int
    received_at: datetime
    answer: str
    amount: int | None
    bank_reference: str | None
    detail: str


class ResolutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read straight off the ORM rows

    decision: str
    reason: str
    evidence: str
    proposed_by: str
    proposed_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    status: str


class AuditStepOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    data: dict[str, object]


class ReviewCaseOut(BaseModel):
    payout: ReviewItemOut
    state: str
    terminal: str
    household_id: int
    lines: list[PayoutLineOut]
    late_answers: list[LateAnswerOut]
    resolutions: list[ResolutionOut]
    history: list[AuditStepOut]


class ResolveIn(BaseModel):
    """A person's decision on a payout in review: commit (the bank paid) or void (it did
    not); or, on a committed payout, reverse (return the money: always two signatures)."""

    decision: Literal["commit", "void", "reverse"]
    reason: str = Field(min_length=10, max_length=2000)
    evidence: str = Field(
        min_length=3,
        max_length=200,
        description="The bank reference, statement id or ticket the decision rests on",
    )
