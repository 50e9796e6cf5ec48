"""ANSI/INCITS 378-2004 finger minutiae records (US-made sensors, FBI and PIV profiles).

Same magic and version as ISO/IEC 19794-2:2005 and the same views, but a different header:
`FMR\\0`, ` 20\\0`, record length in 2 bytes (or, above 65,535, 2 zero bytes then 4), a
4-byte CBEFF product id (owner, type), capture equipment (compliance nibble + 12-bit id),
width, height, x/y resolution in pixels per cm, number of views, reserved byte: 26 bytes, 30
with the long length. Angles are in 2° units (0–179).
"""

from __future__ import annotations

import struct

from matcher.fingerprint.fmr import (
    ANSI_2004,
    MAGIC,
    MinutiaeRecord,
    cursor,
    decode_2004_layout,
    encode_2004_layout,
)
from matcher.fingerprint.template_errors import TemplateFormatError

VERSION = b" 20\x00"
HEADER_SIZE = 26
LONG_HEADER_SIZE = 30
# ANSI's 2-byte length is at least its 26-byte header, while an ISO record's 4-byte length
# starts with two zero bytes below 64 KiB; and after a 6-byte ANSI length's 2 zero bytes the
# next two are below 24 (its high half; 0 in writers that use the long form for short
# records), where an ISO length would be shorter than the ISO header.
_MIN_SHORT_LENGTH = HEADER_SIZE
_MAX_LONG_HIGH_HALF = 23


def is_ansi(data: bytes) -> bool:
    """Whether an `FMR\\0 20\\0` record has ANSI's length layout rather than ISO's."""
    if len(data) < 12:
        return False
    first, second = struct.unpack(">HH", data[8:12])
    return first >= _MIN_SHORT_LENGTH or (first == 0 and second <= _MAX_LONG_HIGH_HALF)


def decode(data: bytes) -> MinutiaeRecord:
    """Parse an ANSI/INCITS 378-2004 record; `TemplateFormatError` names the field on any defect."""
    data = bytes(data)
    cur = cursor(data)
    cur.identify(MAGIC, (VERSION,), "an ANSI/INCITS 378 record")
    stated = cur.u16("record_length")
    header_size = HEADER_SIZE
    if stated == 0:
        stated = cur.u32("record_length")
        header_size = LONG_HEADER_SIZE
    if stated < header_size:
        raise TemplateFormatError(
            "record_length", f"{stated} is shorter than the {header_size}-byte header"
        )
    cbeff = cur.u32("cbeff_product_id")
    return decode_2004_layout(data, cur, ANSI_2004, stated, cbeff_product_id=cbeff)


def encode(record: MinutiaeRecord) -> bytes:
    """Serialise a record (of any minutiae format) as ANSI/INCITS 378-2004."""
    tail, views = encode_2004_layout(record, ANSI_2004)
    length = HEADER_SIZE + len(views)
    if length <= 0xFFFF:
        size_field = struct.pack(">H", length)
    else:
        size_field = struct.pack(">HI", 0, length + LONG_HEADER_SIZE - HEADER_SIZE)
    return MAGIC + VERSION + size_field + struct.pack(">I", record.cbeff_product_id) + tail + views
