"""Compact, versioned storage of an iris code: what the database and index snapshots hold.

Layout (518 bytes): magic ``b"SPIR"``, version (1 byte, = 1), quality 0–100 (1 byte), the 256
code bytes, the 256 mask bytes (angle-major, see `matcher.iris.types`). Fixed-length on
purpose: a truncated or padded record is detected by its length alone.
"""

from __future__ import annotations

import numpy as np

from matcher.iris.types import CODE_BYTES, IrisCode, IrisTemplateError

MAGIC = b"SPIR"
VERSION = 1
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
