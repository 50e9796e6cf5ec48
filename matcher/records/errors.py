"""Typed errors for interchange records: each names the field that is wrong and why."""

from __future__ import annotations


class RecordFormatError(ValueError):
    """A record is truncated, inconsistent or of an unsupported kind.

    `field` names the record field where decoding failed (for example
    `representation[1].image_data`), so a vendor can tell which part of their record is
    wrong; `code` is a stable machine-readable reason.
    """

    code = "record_format"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        self.field = field
        if code is not None:
            self.code = code
        super().__init__(f"{field}: {message}")


class CaptureRecordError(RecordFormatError):
    """A finger or iris image record (ISO/IEC 19794-4 or -6) that cannot be used."""

    code = "capture_record_invalid"


class CaptureRecordTruncated(CaptureRecordError):
    """The record ends before the field it announces."""

    code = "capture_record_truncated"


class CaptureRecordUnsupported(CaptureRecordError):
    """A well-formed record using an option this build does not read (a bit depth, a codec)."""

    code = "capture_record_unsupported"
