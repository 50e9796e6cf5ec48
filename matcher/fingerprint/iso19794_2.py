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
    ExtendedConvention,
    MinutiaeRecord,
    check_resolution,
    common_geometry,
    cursor,
    decide_convention,
    finish,
    from_minutia_sets,
    read_views,
    to_minutia_sets,
    write_views,
)
from matcher.fingerprint.template_errors import TemplateFormatError, TemplateVersionError
from matcher.fingerprint.types import MinutiaSet

VERSION = b" 20\x00"
HEADER_SIZE = 24


def decode(data: bytes) -> MinutiaeRecord:
    """Parse an ISO/IEC 19794-2:2005 record; `TemplateFormatError` names the field on any defect."""
    data = bytes(data)
    cur = cursor(data)
    if cur.take(4, "format_identifier") != MAGIC:
        raise TemplateFormatError("format_identifier", "not an ISO/IEC 19794-2 record (no FMR)")
    version = cur.take(4, "version")
    if version != VERSION:
        raise TemplateVersionError(
            "version", f"version {version!r} is not the 2005 edition (' 20')"
        )
    stated = cur.u32("record_length")
    if stated < HEADER_SIZE:
        raise TemplateFormatError(
            "record_length", f"{stated} is shorter than the {HEADER_SIZE}-byte header"
        )
    equipment = cur.u16("capture_equipment")
    geometry = (
        cur.u16("image_width"),
        cur.u16("image_height"),
        cur.u16("x_resolution"),
        cur.u16("y_resolution"),
    )
    check_resolution(geometry[2], geometry[3])
    count = cur.u8("number_of_views")
    cur.u8("reserved")
    if count == 0:
        raise TemplateFormatError("number_of_views", "a record holds at least one view")
    start = cur.pos

    def parse(convention: ExtendedConvention) -> MinutiaeRecord:
        views_cursor = cursor(data, start)
        views = read_views(views_cursor, count, ISO_2005, geometry, convention)
        padding, warnings = finish(data, views_cursor.pos, stated)
        return MinutiaeRecord(
            format=ISO_2005,
            views=tuple(views),
            record_length=stated,
            padding=padding,
            warnings=warnings,
            convention=convention,
            equipment_compliance=equipment >> 12,
            equipment_id=equipment & 0x0FFF,
        )

    return decide_convention(parse)


def encode(record: MinutiaeRecord) -> bytes:
    """Serialise a record (of any minutiae format) as ISO/IEC 19794-2:2005."""
    width, height, x_res, y_res = common_geometry(record)
    payload = write_views(record, ISO_2005)
    header = MAGIC + VERSION
    header += struct.pack(
        ">IHHHHHBB",
        HEADER_SIZE + len(payload),
        (record.equipment_compliance << 12) | (record.equipment_id & 0x0FFF),
        width,
        height,
        x_res,
        y_res,
        len(record.views),
        0,
    )
    return header + payload


def read(data: bytes) -> list[MinutiaSet]:
    """Decode a record straight to minutia sets (one per view, at 500 dpi)."""
    return to_minutia_sets(decode(data))


def write(sets: list[MinutiaSet], *, impression_type: int = 0) -> bytes:
    """Encode minutia sets (at 500 dpi) as one record with one view each."""
    return encode(from_minutia_sets(sets, fmt=ISO_2005, impression_type=impression_type))
