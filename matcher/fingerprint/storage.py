"""Compact, versioned internal serialisation of minutia sets for the database.

ISO records lose precision (whole pixels, 1.4° angles) and carry fields the gateway never
uses; this format keeps quarter-pixel positions and 0.0055° angles in 8 bytes per minutia,
detects corruption with a CRC-32, and starts with a version byte so stored templates stay
readable when the layout changes: a reader refuses versions it does not know instead of
misreading them.

Layout, little-endian: magic `SPT` (3), version (1), number of views (1); per view: width,
height, resolution in dpi (3 × u16), finger position, image quality (2 × u8), minutia count
(u16), then (version 2 on) the extractor's name and version as a length (u8) and that many
ASCII bytes, then per minutia x·4, y·4, direction·65536/2π (3 × u16), type, quality (2 × u8);
at the end a CRC-32 of everything before it (u32). Version 1 records (no extractor field)
are still read, with an empty extractor name.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from matcher.fingerprint.template_errors import (
    TemplateFormatError,
    TemplateTruncatedError,
    TemplateVersionError,
)
from matcher.fingerprint.types import MinutiaSet

MAGIC = b"SPT"
VERSION = 2
READABLE_VERSIONS = (1, 2)
_VIEW = struct.Struct("<HHHBBH")
_MINUTIA = np.dtype([("x", "<u2"), ("y", "<u2"), ("d", "<u2"), ("kind", "u1"), ("q", "u1")])
# Positions in quarter pixels: sub-pixel detail survives, and 16 bits still cover 16,383 px.
POSITION_SCALE = 4.0
ANGLE_SCALE = 65536 / (2 * np.pi)


def dumps(sets: list[MinutiaSet]) -> bytes:
    """Serialise one or more views (e.g. both index fingers of a person)."""
    if not 1 <= len(sets) <= 255:
        raise TemplateFormatError("views", f"{len(sets)} views; 1..255 can be stored")
    parts = [MAGIC, bytes([VERSION, len(sets)])]
    for i, s in enumerate(sets):
        if len(s) > 0xFFFF:
            raise TemplateFormatError(f"view[{i}].minutia_count", f"{len(s)} exceeds 65535")
        parts.append(
            _VIEW.pack(
                s.width,
                s.height,
                s.resolution_dpi,
                s.finger_position,
                int(np.clip(s.image_quality, 0, 255)),
                len(s),
            )
        )
        name = s.extractor.encode("ascii", errors="replace")[:255]
        parts.append(bytes([len(name)]) + name)
        rows = np.zeros(len(s), dtype=_MINUTIA)
        limit = 0xFFFF / POSITION_SCALE
        rows["x"] = np.rint(np.clip(s.x, 0, limit) * POSITION_SCALE)
        rows["y"] = np.rint(np.clip(s.y, 0, limit) * POSITION_SCALE)
        rows["d"] = np.rint(np.mod(s.direction, 2 * np.pi) * ANGLE_SCALE).astype(np.int64) % 65536
        rows["kind"] = s.kind
        rows["q"] = s.quality
        parts.append(rows.tobytes())
    body = b"".join(parts)
    return body + struct.pack("<I", zlib.crc32(body))


def loads(data: bytes) -> list[MinutiaSet]:
    """Deserialise; raises `TemplateVersionError` for unknown versions, others for damage."""
    data = bytes(data)
    if len(data) < 5:
        raise TemplateTruncatedError("header", f"{len(data)} bytes, the header needs 5")
    if data[:3] != MAGIC:
        raise TemplateFormatError("magic", "not a Satu Pintu template")
    version = data[3]
    if version not in READABLE_VERSIONS:
        raise TemplateVersionError(
            "version",
            f"version {version} is not supported (this build reads {READABLE_VERSIONS})",
        )
    if len(data) < 9:
        raise TemplateTruncatedError("crc32", "the record ends before its checksum")
    body, (crc,) = data[:-4], struct.unpack("<I", data[-4:])
    views, pos = data[4], 5
    sets = []
    for i in range(views):
        if pos + _VIEW.size > len(body):
            raise TemplateTruncatedError(f"view[{i}].header", "the record ends inside it")
        width, height, dpi, finger, image_quality, n = _VIEW.unpack_from(body, pos)
        pos += _VIEW.size
        extractor = ""
        if version >= 2:
            if pos >= len(body) or pos + 1 + body[pos] > len(body):
                raise TemplateTruncatedError(f"view[{i}].extractor", "the record ends inside it")
            extractor = body[pos + 1 : pos + 1 + body[pos]].decode("ascii", errors="replace")
            pos += 1 + body[pos]
        size = n * _MINUTIA.itemsize
        if pos + size > len(body):
            raise TemplateTruncatedError(
                f"view[{i}].minutiae", f"{n} minutiae announced, the record ends first"
            )
        rows = np.frombuffer(body, dtype=_MINUTIA, count=n, offset=pos)
        pos += size
        sets.append(
            MinutiaSet.from_arrays(
                rows["x"] / POSITION_SCALE,
                rows["y"] / POSITION_SCALE,
                rows["d"] / ANGLE_SCALE,
                rows["kind"],
                rows["q"],
                width=width,
                height=height,
                resolution_dpi=dpi,
                finger_position=finger,
                image_quality=image_quality,
                extractor=extractor,
            )
        )
    if pos != len(body):
        raise TemplateFormatError("views", f"{len(body) - pos} bytes follow the last view")
    if zlib.crc32(body) != crc:
        raise TemplateFormatError("crc32", "checksum mismatch: the stored template is corrupt")
    return sets
