"""API shapes of biometric captures and of what the quality gate said about each; enrolment,
verification and case-worker approvals all take captures in these shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import Base64Bytes, BaseModel, Field, model_validator

from gateway.crypto.capture import SealedCapture

# Base64 of a 2 MB request body cannot hold more than this many raw bytes anyway; the
# per-capture cap keeps one capture from crowding out the others.
MAX_CAPTURE_BYTES = 1_000_000


class CapturePayload(BaseModel):
    """One capture, in clear (`data`, development only) or HPKE-sealed by the capture device."""

    data: Base64Bytes | None = Field(default=None, description="Raw capture bytes, base64")
    sealed: SealedCapture | None = Field(default=None, description="HPKE-sealed capture")

    @model_validator(mode="after")
    def _exactly_one(self) -> CapturePayload:
        if (self.data is None) == (self.sealed is None):
            raise ValueError("give exactly one of `data` or `sealed`")
        if self.data is not None and len(self.data) > MAX_CAPTURE_BYTES:
            raise ValueError(f"a capture is at most {MAX_CAPTURE_BYTES} bytes")
        return self


class FingerCapture(CapturePayload):
    position: int = Field(ge=1, le=10, description="ISO/IEC 19794-2 finger position (2, 7 = index)")
    format: Literal["image", "iso19794-2", "iso19794-4"] = Field(
        default="image",
        description="An image (PNG, TIFF, BMP, JPEG); a minutiae record (ISO/IEC 19794-2 2005 "
        "or 2011, ANSI/INCITS 378); or an ISO/IEC 19794-4 finger image record (2005 or 2011; "
        "raw, PNG, JPEG, JPEG 2000 or WSQ)",
    )
    resolution_dpi: int | None = Field(
        default=None,
        ge=250,
        le=1200,
        description="Image resolution (default 500 dpi); records state their own",
    )

    @model_validator(mode="after")
    def _resolution_for_images_only(self) -> FingerCapture:
        if self.resolution_dpi is not None and self.format != "image":
            raise ValueError("resolution_dpi applies to images; a record states its own")
        return self


class IrisCapture(CapturePayload):
    eye: Literal["right", "left"]
    format: Literal["image", "iso19794-6"] = Field(
        default="image",
        description="An eye image (PNG, JPEG, BMP, TIFF) or an ISO/IEC 19794-6:2011 iris "
        "image record (raw, PNG or JPEG 2000)",
    )


class Captures(BaseModel):
    fingers: list[FingerCapture] = Field(default_factory=list, max_length=10)
    irises: list[IrisCapture] = Field(default_factory=list, max_length=2)

    @model_validator(mode="after")
    def _distinct_positions(self) -> Captures:
        positions = [f.position for f in self.fingers]
        if len(set(positions)) != len(positions):
            raise ValueError("each finger position may be captured once per request")
        eyes = [i.eye for i in self.irises]
        if len(set(eyes)) != len(eyes):
            raise ValueError("each eye may be captured once per request")
        return self


class CaptureReport(BaseModel):
    """Per capture: what the quality gate saw, and what to do about it."""

    capture: str = Field(description="`finger:2`, `iris:right`, ...")
    quality: int | None
    accepted: bool
    reasons: list[dict[str, str]] = Field(description="code + message the operator can act on")
