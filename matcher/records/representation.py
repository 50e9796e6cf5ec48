"""The ISO/IEC 19794-1:2011 representation header shared by the 2011 editions of parts 2, 4, 6.

Each representation starts with its length (4), then: capture date and time (9: year 2,
month, day, hour, minute, second, millisecond 2; all-ones bytes mean "not recorded"), capture
device technology (1), vendor id (2), device type id (2), a quality record (count 1, then
5-byte blocks: score, algorithm vendor id 2, algorithm id 2) and, when the record's
certification flag is set, a certification record (count 1, then 3-byte blocks: authority id
2, scheme id 1). Parts 2, 4 and 6 append their own fields after it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from matcher.records.cursor import Cursor

# Quality scores above 100: 254 = not computed, 255 = the algorithm failed.
QUALITY_NOT_COMPUTED = 254
QUALITY_FAILED = 255
UNRECORDED_TIME = (0xFFFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFFFF)


@dataclass(frozen=True)
class QualityBlock:
    score: int
    vendor_id: int = 0
    algorithm_id: int = 0


@dataclass(frozen=True)
class CertificationBlock:
    authority_id: int
    scheme_id: int


@dataclass(frozen=True)
class CaptureInfo:
    """Who captured a representation, when, and how good it was judged to be."""

    captured_at: tuple[int, int, int, int, int, int, int] = UNRECORDED_TIME
    device_technology: int = 0
    device_vendor_id: int = 0
    device_type_id: int = 0
    quality: tuple[QualityBlock, ...] = ()
    certifications: tuple[CertificationBlock, ...] = field(default=())

    @property
    def quality_score(self) -> int:
        """The first usable (0–100) quality score, or 0 when none was reported."""
        return next((q.score for q in self.quality if q.score <= 100), 0)

    def describe(self) -> dict[str, Any]:
        year, month, day, hour, minute, second, millis = self.captured_at
        when = None
        if self.captured_at != UNRECORDED_TIME:
            when = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
            when += f".{millis:03d}Z" if millis != 0xFFFF else "Z"
        return {
            "capture_datetime": when,
            "capture_device_technology": self.device_technology,
            "capture_device_vendor_id": self.device_vendor_id,
            "capture_device_type_id": self.device_type_id,
            "quality_blocks": [
                {"score": q.score, "vendor_id": q.vendor_id, "algorithm_id": q.algorithm_id}
                for q in self.quality
            ],
            "certification_blocks": [
                {"authority_id": c.authority_id, "scheme_id": c.scheme_id}
                for c in self.certifications
            ],
        }


def read_capture_info(cur: Cursor, name: str, *, certified: bool) -> CaptureInfo:
    """The common fields after the representation length, checked field by field."""
    when = struct.unpack(">HBBBBBH", cur.take(9, f"{name}.capture_datetime"))
    _check_time(cur, when, f"{name}.capture_datetime")
    technology = cur.u8(f"{name}.capture_device_technology")
    vendor = cur.u16(f"{name}.capture_device_vendor_id")
    device_type = cur.u16(f"{name}.capture_device_type_id")
    quality = []
    for i in range(cur.u8(f"{name}.quality_block_count")):
        score, q_vendor, algorithm = struct.unpack(
            ">BHH", cur.take(5, f"{name}.quality_block[{i}]")
        )
        if 100 < score < QUALITY_NOT_COMPUTED:
            raise cur.fail(f"{name}.quality_block[{i}].score", f"{score} is not 0–100, 254 or 255")
        quality.append(QualityBlock(score, q_vendor, algorithm))
    certifications = []
    if certified:
        for i in range(cur.u8(f"{name}.certification_block_count")):
            authority, scheme = struct.unpack(
                ">HB", cur.take(3, f"{name}.certification_block[{i}]")
            )
            certifications.append(CertificationBlock(authority, scheme))
    return CaptureInfo(
        captured_at=when,
        device_technology=technology,
        device_vendor_id=vendor,
        device_type_id=device_type,
        quality=tuple(quality),
        certifications=tuple(certifications),
    )


def _check_time(cur: Cursor, when: tuple[int, ...], name: str) -> None:
    if when == UNRECORDED_TIME:
        return
    _, month, day, hour, minute, second, millis = when
    limits = (
        ("month", month, 1, 12),
        ("day", day, 1, 31),
        ("hour", hour, 0, 23),
        ("minute", minute, 0, 59),
        ("second", second, 0, 59),
    )
    for part, value, low, high in limits:
        if not low <= value <= high and value != 0xFF:
            raise cur.fail(f"{name}.{part}", f"{value} is not in {low}..{high}")
    if millis > 999 and millis != 0xFFFF:
        raise cur.fail(f"{name}.millisecond", f"{millis} is not in 0..999")


def write_capture_info(info: CaptureInfo, *, certified: bool) -> bytes:
    """The common fields, as `read_capture_info` reads them (the length is the caller's)."""
    out = struct.pack(">HBBBBBH", *info.captured_at)
    out += struct.pack(
        ">BHHB",
        info.device_technology,
        info.device_vendor_id,
        info.device_type_id,
        len(info.quality),
    )
    out += b"".join(struct.pack(">BHH", q.score, q.vendor_id, q.algorithm_id) for q in info.quality)
    if certified:
        out += bytes([len(info.certifications)])
        out += b"".join(
            struct.pack(">HB", c.authority_id, c.scheme_id) for c in info.certifications
        )
    return out


def read_record_header(cur: Cursor, header_size: int) -> tuple[int, int, bool]:
    """Record length, number of representations and certification flag of a 2011 record."""
    stated = cur.u32("record_length")
    if stated < header_size:
        raise cur.fail("record_length", f"{stated} is shorter than the {header_size}-byte header")
    count = cur.u16("number_of_representations")
    flag = cur.u8("certification_flag")
    if flag > 1:
        raise cur.fail("certification_flag", f"{flag} is neither 0 nor 1")
    if count == 0:
        raise cur.fail("number_of_representations", "a record holds at least one")
    return stated, count, bool(flag)


def read_representation_start(
    cur: Cursor, name: str, *, certified: bool
) -> tuple[int, int, CaptureInfo]:
    """Where a representation begins, the length it states, and its capture header."""
    begin = cur.pos
    length = cur.u32(f"{name}.length")
    return begin, length, read_capture_info(cur, name, certified=certified)


def check_representation_end(cur: Cursor, name: str, begin: int, length: int) -> None:
    if cur.pos - begin != length:
        raise cur.fail(
            f"{name}.length", f"states {length} bytes, the representation holds {cur.pos - begin}"
        )


def capture_or_quality(capture: CaptureInfo | None, quality: int) -> CaptureInfo:
    """A representation's capture header, or one carrying just its 0–100 quality (if known)."""
    if capture is not None:
        return capture
    return CaptureInfo(quality=(QualityBlock(quality),) if quality else ())


def frame(fields: bytes) -> bytes:
    """A representation: its length (counting these 4 bytes) and then its fields."""
    return struct.pack(">I", len(fields) + 4) + fields
