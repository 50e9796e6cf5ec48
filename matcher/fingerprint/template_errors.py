"""Typed errors for template records, shared by the ISO codec, the storage codec and the loader."""

from __future__ import annotations


class TemplateFormatError(ValueError):
    """A template record is truncated, inconsistent or of an unknown format.

    `field` names the record field where decoding failed (for example `view[1].minutia[4]`),
    so an operator or a vendor can tell which part of their record is wrong; `code` is a
    stable machine-readable reason.
    """

    code = "template_format"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        self.field = field
        if code is not None:
            self.code = code
        super().__init__(f"{field}: {message}")


class TemplateTruncatedError(TemplateFormatError):
    """The record ends before the field it announces."""

    code = "template_truncated"


class TemplateVersionError(TemplateFormatError):
    """The record's format version is not one this build can read."""

    code = "template_version_unsupported"
