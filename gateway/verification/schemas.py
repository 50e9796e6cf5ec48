"""API shapes of verification, lockouts and case workers."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Base64Bytes, BaseModel, Field, model_validator

from gateway.biometrics.schemas import CaptureReport, Captures

Mode = Literal["1:1", "1:N", "ektp", "fallback"]


class CardTemplate(BaseModel):
    """The fingerprint template read from the e-KTP chip: an ISO/IEC 19794-2 record."""

    data: Base64Bytes = Field(description="The ISO/IEC 19794-2 record, base64")


class Vouch(BaseModel):
    """A case worker vouching for a person whose fingers cannot be read."""

    case_worker: str = Field(description="The case worker's reference")
    reason: str = Field(min_length=10, max_length=1000)
    captures: Captures = Field(description="The case worker's own live finger captures")


class VerifyRequest(Captures):
    mode: Mode
    nik: str | None = Field(default=None, min_length=1, max_length=32)
    card_template: CardTemplate | None = None
    vouch: Vouch | None = None

    @model_validator(mode="after")
    def _fields_of_mode(self) -> VerifyRequest:
        if self.mode in ("1:1", "ektp", "fallback") and self.nik is None:
            raise ValueError(f"mode {self.mode} needs `nik`")
        if self.mode == "1:N" and self.nik is not None:
            raise ValueError("mode 1:N (cardless) takes no `nik`")
        if (self.mode == "ektp") != (self.card_template is not None):
            raise ValueError("`card_template` is given in mode ektp, and only there")
        if (self.mode == "fallback") != (self.vouch is not None):
            raise ValueError("`vouch` is given in mode fallback, and only there")
        return self


class SampleScore(BaseModel):
    capture: str
    against: Literal["enrolled", "card"]
    score: float
    fmr: float


class VerifyResult(BaseModel):
    verification: str = Field(description="Reference of this verification's record")
    mode: Mode
    decision: Literal["match", "no_match"]
    score: float | None = Field(description="−log10 of the fused FMR (higher = surer)")
    fmr: float | None = Field(description="Calibrated false match rate of the fused score")
    target_fmr: float
    person: str | None = None
    household: str | None = None
    scope: str | None = Field(default=None, description="1:N: `region` or `national`")
    fpir: float | None = Field(default=None, description="1:N: FPIR at this score")
    samples: list[SampleScore] = Field(default_factory=list)
    captures: list[CaptureReport] = Field(default_factory=list)
    token: str | None = None
    token_expires_at: dt.datetime | None = None
    fallback: bool = False
    attempts_left: int | None = None


class LockoutView(BaseModel):
    reference: str
    person: str
    household: str
    failures: int
    locked_at: dt.datetime
    unlocked_at: dt.datetime | None
    unlocked_by: str | None
    unlock_reason: str | None


class UnlockRequest(BaseModel):
    reason: str = Field(min_length=10, max_length=1000)


class CaseWorkerRequest(Captures):
    operator_id: str = Field(min_length=1, max_length=64)
    approval: str = Field(
        min_length=1, max_length=32, description="The ops supervisor's approval reference"
    )
    operator_signature: Base64Bytes = Field(
        description="The case worker's operator key's Ed25519 signature (base64) of "
        "`satupintu:case-worker-enrolment:{approval}:{operator_id}:{terminal_id}:{nonce}`, "
        "the nonce being this request's signature nonce"
    )


class CaseWorkerView(BaseModel):
    reference: str
    operator_id: str
    region: str
    active: bool
    fingers: list[int]
