"""Compact, versioned storage of an iris code: what the database and index snapshots hold.

Layout (518 bytes): magic ``b"SPIR"``, version (1 byte, = 2), quality 0–100 (1 byte), the 256
code bytes, the 256 mask bytes (angle-major, see `matcher.iris.types`). Fixed-length on
purpose: a truncated or padded record is detected by its length alone.

The version names the encoding as well as the layout: version 1 codes have the same layout
but came from another filter (log-Gabor wavelength 18, no fragile-bit mask), and comparing
them with today's codes would quietly raise false non-matches, so they are refused with a
request to re-enrol instead.
"""

from __future__ import annotations

import numpy as np

from matcher.iris.types import CODE_BYTES, IrisCode, IrisTemplateError

MAGIC = b"SPIR"
VERSION = 2
RECORD_BYTES = len(MAGIC) + 2 + 2 * CODE_BYTES


def to_bytes(code: IrisCode, quality: int = 0) -> bytes:
    """Serialise an iris code (and the capture's 0–100 quality) for storage."""
    if not 0 <= quality <= 100:
        raise IrisTemplateError(f"quality {quality} is outside 0–100")
    return MAGIC + bytes([VERSION, quality]) + code.code.tobytes() + code.mask.tobytes()


def from_bytes(data: bytes) -> tuple[IrisCode, int]:
    """Read a stored iris code; a wrong magic, version or length raises `IrisTemplateError`."""
    if data[: len(MAGIC)] != MAGIC:
        raise IrisTemplateError("not an iris template (magic bytes SPIR missing)")
    if len(data) < len(MAGIC) + 2 or data[len(MAGIC)] != VERSION:
        version = data[len(MAGIC)] if len(data) > len(MAGIC) else None
        if version == 1:
            raise IrisTemplateError(
                "iris template version 1 was encoded with an earlier filter; re-enrol the eye"
            )
        raise IrisTemplateError(f"iris template version {version} is not supported")
    if len(data) != RECORD_BYTES:
        raise IrisTemplateError(
            f"iris template is {len(data)} bytes, a version {VERSION} record has {RECORD_BYTES}"
        )
    body = np.frombuffer(data, dtype=np.uint8, offset=len(MAGIC) + 2)
    return IrisCode(code=body[:CODE_BYTES].copy(), mask=body[CODE_BYTES:].copy()), data[5]


class IrisCodec:
    """`TemplateCodec` of the 1:N index for iris codes."""

    def to_bytes(self, template: IrisCode) -> bytes:
        return to_bytes(template)

    def from_bytes(self, data: bytes) -> IrisCode:
        return from_bytes(data)[0]
