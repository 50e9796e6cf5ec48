"""Capture intake: open each capture, turn it into a template, and grade its quality.

Enrollment and every verification mode read captures the same way, so a finger sent as an
image, as a minutiae record or as a finger image record (ISO/IEC 19794-4), an eye as an image
or an iris image record (ISO/IEC 19794-6), sealed or (in development) in clear, always
becomes the same `Sample`. Problems are collected per capture and reported together, with the
matcher's reason codes and sentences, so an operator can fix every capture in one go.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.orm import Session

from gateway.biometrics.schemas import (
    CapturePayload,
    CaptureReport,
    Captures,
    FingerCapture,
    IrisCapture,
)
from gateway.biometrics.sealed import DeviceLookup, open_capture
from gateway.errors import InvalidInput
from gateway.terminals.identity import AuthenticatedTerminal
from matcher.fingerprint import fused
from matcher.fingerprint.image import FingerprintImageError
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.templates import read_record
from matcher.fingerprint.types import MinutiaSet
from matcher.iris.pipeline import extract_iris
from matcher.iris.types import IrisCode, IrisError
from matcher.records.capture import finger_image, iris_image
from matcher.records.errors import RecordFormatError

Modality = Literal["finger", "iris"]
# ISO/IEC 19794-6 eye labels, used as the iris "position".
EYES = {"right": 1, "left": 2}
EYE_NAMES = {v: k for k, v in EYES.items()}
# An ISO record with fewer minutiae than this cannot support a decision at any useful FMR.
MIN_RECORD_MINUTIAE = 8


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class Sample:
    """One usable capture: its template, quality 0–100, and quality remarks."""

    modality: Modality
    position: int
    template: MinutiaSet | IrisCode
    quality: int
    reasons: tuple[Reason, ...] = ()
    # The comparison-ready form, when the caller prepared it ahead (outside a transaction).
    prepared: object = None
    # A finger image's classical (Gabor) minutiae from the same analysis, for templates
    # enrolled by that extractor alone; None for records and irises.
    classical: MinutiaSet | None = None

    @property
    def label(self) -> str:
        name = EYE_NAMES[self.position] if self.modality == "iris" else str(self.position)
        return f"{self.modality}:{name}"


class CaptureRejected(InvalidInput):
    """At least one capture is unusable; `details.captures` says which and why."""

    code = "capture_rejected"


class CaptureMissing(InvalidInput):
    code = "capture_missing"


class PlaintextCaptureRefused(InvalidInput):
    code = "capture_must_be_sealed"


@dataclass
class CaptureContext:
    """What opening sealed captures needs: the request's terminal, and its capture devices'
    keys from `devices` (confirmed later by the caller) or else from `session`."""

    session: Session | None
    terminal: AuthenticatedTerminal
    allow_plaintext: bool
    capture_window_seconds: int = 120
    devices: DeviceLookup | None = None


def _raw(payload: CapturePayload, ctx: CaptureContext) -> bytes:
    if payload.sealed is not None:
        return open_capture(
            payload.sealed,
            terminal=ctx.terminal,
            session=ctx.session,
            devices=ctx.devices,
            window_seconds=ctx.capture_window_seconds,
        )
    if not ctx.allow_plaintext:
        raise PlaintextCaptureRefused(
            "Captures must be sealed by the capture device (HPKE); clear captures are refused."
        )
    assert payload.data is not None
    return bytes(payload.data)


def finger_from_record(data: bytes, *, position: int | None, label: str) -> MinutiaSet:
    """The view of a minutiae record (any edition) for `position` (or its only view)."""
    views = read_record(data)
    chosen = [v for v in views if position is None or v.finger_position == position]
    if not chosen and len(views) == 1 and views[0].finger_position == 0:
        chosen = views  # "unknown finger" records: trust the declared position
    if not chosen:
        raise TemplateFormatError(
            "finger_position", f"the record has no view of finger position {position} ({label})"
        )
    view = max(chosen, key=lambda v: (v.image_quality, len(v)))
    if position is not None and view.finger_position != position:
        view = dataclasses.replace(view, finger_position=position)
    return view


def _finger(capture: FingerCapture, raw: bytes, min_quality: int) -> Sample:
    label = f"finger:{capture.position}"
    if capture.format == "iso19794-2":
        ms = finger_from_record(raw, position=capture.position, label=label)
        reasons: tuple[Reason, ...] = ()
        if len(ms) < MIN_RECORD_MINUTIAE:
            reasons = (
                Reason(
                    "too_few_minutiae",
                    f"The record holds {len(ms)} minutiae; at least {MIN_RECORD_MINUTIAE} are "
                    "needed: capture the finger again, pressing flatter.",
                ),
            )
        quality = ms.image_quality if ms.image_quality else min(100, 4 * len(ms))
        return Sample("finger", capture.position, ms, int(quality), reasons)
    if capture.format == "iso19794-4":
        pixels, dpi = finger_image(raw, position=capture.position)
        analysis, classical = fused.analyse(pixels, resolution_dpi=dpi)
    else:
        analysis, classical = fused.analyse(raw, resolution_dpi=capture.resolution_dpi)
    ms = dataclasses.replace(analysis.minutiae, finger_position=capture.position)
    reasons = tuple(Reason(r.code, r.message) for r in analysis.quality.reasons)
    if analysis.quality.score < min_quality and not reasons:
        reasons = (Reason("low_quality", "The capture is of low quality: capture it again."),)
    return Sample(
        "finger",
        capture.position,
        ms,
        analysis.quality.score,
        reasons,
        classical=dataclasses.replace(classical, finger_position=capture.position),
    )


def _iris(capture: IrisCapture, raw: bytes) -> Sample:
    eye = EYES[capture.eye]
    template = extract_iris(iris_image(raw, eye=eye) if capture.format == "iso19794-6" else raw)
    quality = template.quality
    reasons = tuple(
        Reason(code, text) for code, text in zip(quality.reason_codes, quality.reasons, strict=True)
    )
    return Sample("iris", eye, template.iris_code, template.quality.score, reasons)


@dataclass(frozen=True)
class Opened:
    """A capture's raw bytes, out of its (sealed) envelope, not yet decoded."""

    label: str
    payload: CapturePayload
    raw: bytes


def open_captures(
    captures: Captures, *, ctx: CaptureContext, required: Sequence[Modality] = ()
) -> list[Opened]:
    """Check presence and open every capture (the only step that needs the database).

    Kept apart from decoding so a caller can close its transaction before the CPU-heavy
    extraction and preparation (on SQLite an open transaction holds the write lock).
    """
    if not captures.fingers and not captures.irises:
        raise CaptureMissing("At least one finger or iris capture is required.")
    for modality in required:
        present = captures.fingers if modality == "finger" else captures.irises
        if not present:
            raise CaptureMissing(f"This operation needs a {modality} capture.")
    jobs: list[tuple[str, CapturePayload]] = [(f"finger:{f.position}", f) for f in captures.fingers]
    jobs += [(f"iris:{i.eye}", i) for i in captures.irises]
    return [Opened(label, payload, _raw(payload, ctx)) for label, payload in jobs]


def decode_captures(
    opened: Sequence[Opened], *, min_quality: int
) -> tuple[list[Sample], list[CaptureReport]]:
    """Every opened capture as a sample, or `CaptureRejected` listing each unusable one.

    A capture below `min_quality` is unusable; the report carries the matcher's reasons.
    """
    samples: list[Sample] = []
    reports: list[CaptureReport] = []
    for item in opened:
        label, payload, raw = item.label, item.payload, item.raw
        try:
            if isinstance(payload, FingerCapture):
                sample = _finger(payload, raw, min_quality)
            else:
                assert isinstance(payload, IrisCapture)
                sample = _iris(payload, raw)
        except (FingerprintImageError, RecordFormatError, IrisError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            reports.append(
                CaptureReport(
                    capture=label,
                    quality=None,
                    accepted=False,
                    reasons=[{"code": exc.code, "message": message}],
                )
            )
            continue
        too_sparse = (
            isinstance(sample.template, MinutiaSet) and len(sample.template) < MIN_RECORD_MINUTIAE
        )
        accepted = sample.quality >= min_quality and not too_sparse
        reports.append(
            CaptureReport(
                capture=label,
                quality=sample.quality,
                accepted=accepted,
                reasons=[{"code": r.code, "message": r.message} for r in sample.reasons],
            )
        )
        if accepted:
            samples.append(sample)
    if any(not r.accepted for r in reports):
        raise CaptureRejected(
            "Some captures are unusable; see each capture's reasons and capture them again.",
            captures=[r.model_dump() for r in reports],
        )
    return samples, reports


def read_captures(
    captures: Captures,
    *,
    ctx: CaptureContext,
    min_quality: int,
    required: Sequence[Modality] = (),
) -> tuple[list[Sample], list[CaptureReport]]:
    """Open and decode in one go (where the transaction is short anyway)."""
    opened = open_captures(captures, ctx=ctx, required=required)
    return decode_captures(opened, min_quality=min_quality)
