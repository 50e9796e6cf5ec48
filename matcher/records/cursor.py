"""A big-endian cursor over a record that names the field whenever the data runs out."""

from __future__ import annotations

import struct

from matcher.records.errors import RecordFormatError


class Cursor:
    """Reads fixed-size big-endian fields; a short read raises `truncated` naming the field."""

    def __init__(
        self,
        data: bytes,
        *,
        error: type[RecordFormatError],
        truncated: type[RecordFormatError],
        version_error: type[RecordFormatError] | None = None,
        pos: int = 0,
    ) -> None:
        self.data = data
        self.pos = pos
        self.error = error
        self.truncated = truncated
        self.version_error = version_error or error

    def take(self, size: int, name: str) -> bytes:
        end = self.pos + size
        if size < 0 or end > len(self.data):
            raise self.truncated(
                name,
                f"needs {size} bytes at offset {self.pos}, the record has "
                f"{max(len(self.data) - self.pos, 0)} left",
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self, name: str) -> int:
        return self.take(1, name)[0]

    def u16(self, name: str) -> int:
        value: int = struct.unpack(">H", self.take(2, name))[0]
        return value

    def u32(self, name: str) -> int:
        value: int = struct.unpack(">I", self.take(4, name))[0]
        return value

    def identify(self, magic: bytes, versions: tuple[bytes, ...], what: str) -> bytes:
        """Check the format identifier and return the version, one of `versions`."""
        if self.take(4, "format_identifier") != magic:
            raise self.error("format_identifier", f"not {what} (no {magic[:3].decode()})")
        version = self.take(4, "version")
        if version not in versions:
            known = " or ".join(repr(v.rstrip(b"\x00").decode()) for v in versions)
            raise self.version_error("version", f"{version!r} is not {known}")
        return version

    def fail(self, name: str, message: str) -> RecordFormatError:
        """The error to raise for an inconsistent field, of the record family's type."""
        return self.error(name, message)
