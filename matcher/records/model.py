"""The capture record model shared by finger image (19794-4) and iris image (19794-6) records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.records.payload import Compression, decode_pixels
from matcher.records.representation import CaptureInfo

FINGER_2005 = "iso19794-4:2005"
FINGER_2011 = "iso19794-4:2011"
IRIS_2011 = "iso19794-6:2011"
# Scale units of finger image records: resolutions in pixels per inch or per centimetre.
PER_INCH, PER_CM = 1, 2


@dataclass(frozen=True, eq=False)
class ImageRepresentation:
    """One image of a capture record, with the header facts needed to use it.

    `position` is the finger position (part 4) or the eye label (part 6: 1 right, 2 left);
    `x_resolution`/`y_resolution` are in `scale_units` (part 4 only: iris records state none).
    """

    position: int
    number: int
    quality: int
    width: int
    height: int
    bit_depth: int
    compression: Compression
    data: bytes
    impression_type: int = 0
    scale_units: int = PER_INCH
    x_resolution: int = 0
    y_resolution: int = 0
    capture: CaptureInfo | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def dpi(self) -> tuple[float, float] | None:
        """The stated image resolution in dots per inch, or None when the record has none."""
        if not self.x_resolution or not self.y_resolution:
            return None
        scale = 2.54 if self.scale_units == PER_CM else 1.0
        return self.x_resolution * scale, self.y_resolution * scale

    def pixels(self, field_name: str) -> NDArray[np.uint8]:
        return decode_pixels(
            self.data,
            self.compression,
            width=self.width,
            height=self.height,
            bit_depth=self.bit_depth,
            field=field_name,
        )


@dataclass(frozen=True)
class CaptureRecord:
    """A decoded finger or iris image record."""

    format: str
    representations: tuple[ImageRepresentation, ...]
    record_length: int
    padding: int = 0
    warnings: tuple[str, ...] = ()
    header: dict[str, Any] = field(default_factory=dict)


def record_end(
    data: bytes, end: int, stated: int, error: type[Exception]
) -> tuple[int, tuple[str, ...]]:
    """Padding after the stated length (accepted, reported), or the record-length error."""
    if end != stated:
        raise error("record_length", f"states {stated} bytes but the record ends at byte {end}")
    padding = len(data) - stated
    if not padding:
        return 0, ()
    return padding, (f"{padding} padding bytes after the stated record length {stated}",)
