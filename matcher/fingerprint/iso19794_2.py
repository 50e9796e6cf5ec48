"""ISO/IEC 19794-2:2005 finger minutiae records: decode, encode, convert to `MinutiaSet`.

This is how e-KTP card templates and other vendors' templates enter the system, so decoding is
strict about structure (every truncated or inconsistent field raises `TemplateFormatError`
naming it) but tolerant where real records are known to disagree: the extended-data length
conventions are decided per record (`fmr.decide_convention`), padding after the stated length
is accepted and reported, and a length field one byte short of a complete record is flagged.

Layout (big-endian): header `FMR\\0`, version ` 20\\0`, record length (4), capture equipment
(2: compliance nibble + 12-bit id), width, height (2 + 2), x/y resolution in pixels per cm
(2 + 2), number of views (1), reserved (1); then the views (`fmr.read_views`).
"""

from __future__ import annotations

import struct

from matcher.fingerprint.fmr import (
    ISO_2005,
    MAGIC,
    MinutiaeRecord,
    cursor,
    decode_2004_layout,
    encode_2004_layout,
    from_minutia_sets,
    to_minutia_sets,
)
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.types import MinutiaSet

VERSION = b" 20\x00"
HEADER_SIZE = 24


def decode(data: bytes) -> MinutiaeRecord:
    """Parse an ISO/IEC 19794-2:2005 record; `TemplateFormatError` names the field on any defect."""
    data = bytes(data)
    cur = cursor(data)
    cur.identify(MAGIC, (VERSION,), "an ISO/IEC 19794-2 record")
    stated = cur.u32("record_length")
    if stated < HEADER_SIZE:
        raise TemplateFormatError(
            "record_length", f"{stated} is shorter than the {HEADER_SIZE}-byte header"
        )
    return decode_2004_layout(data, cur, ISO_2005, stated)


def encode(record: MinutiaeRecord) -> bytes:
    """Serialise a record (of any minutiae format) as ISO/IEC 19794-2:2005."""
    tail, views = encode_2004_layout(record, ISO_2005)
    return MAGIC + VERSION + struct.pack(">I", HEADER_SIZE + len(views)) + tail + views


def read(data: bytes) -> list[MinutiaSet]:
    """Decode a record straight to minutia sets (one per view, at 500 dpi)."""
    return to_minutia_sets(decode(data))


def write(sets: list[MinutiaSet], *, impression_type: int = 0) -> bytes:
    """Encode minutia sets (at 500 dpi) as one record with one view each."""
    return encode(from_minutia_sets(sets, fmt=ISO_2005, impression_type=impression_type))
