"""Typed errors for template records, shared by the minutiae codecs, storage and the loader."""

from __future__ import annotations

from matcher.records.errors import RecordFormatError


class TemplateFormatError(RecordFormatError):
    """A template record is truncated, inconsistent or of an unknown format.

    `field` names the record field where decoding failed (for example `view[1].minutia[4]`),
    so an operator or a vendor can tell which part of their record is wrong; `code` is a
    stable machine-readable reason.
    """

    code = "template_format"


class TemplateTruncatedError(TemplateFormatError):
    """The record ends before the field it announces."""

    code = "template_truncated"


class TemplateVersionError(TemplateFormatError):
    """The record's format version is not one this build can read."""

    code = "template_version_unsupported"
