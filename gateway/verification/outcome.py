"""What a verification mode decided, carried from the read snapshot to the write transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from gateway.biometrics.captures import Sample
from gateway.biometrics.engine import Fused
from gateway.biometrics.schemas import CaptureReport
from gateway.verification.models import CaseWorker
from gateway.verification.schemas import SampleScore, VerifyRequest
from gateway.verification.subjects import Subject


@dataclass
class Outcome:
    """What a mode decided, before it is recorded and answered."""

    match: bool
    person: Subject | None = None
    fused: Fused | None = None
    samples: list[SampleScore] = field(default_factory=list)
    scope: str | None = None
    fpir: float | None = None
    fallback: bool = False
    case_worker: CaseWorker | None = None
    reason: str | None = None
    # A 1:1 or e-KTP request for a NIK not in the register: answered as a wrong finger.
    unknown_nik: bytes | None = None


@dataclass(frozen=True)
class Decision:
    """What a verification decided on what it read, to be recorded by `record` in the write
    transaction that follows."""

    request: VerifyRequest
    outcome: Outcome
    samples: list[Sample]
    reports: list[CaptureReport]
    at: dt.datetime
