"""Value types shared by every fingerprint stage: extraction, codecs, comparison and indexing."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

# Minutiae coordinates are always expressed at this resolution; other sensors are rescaled,
# so distances and radii in the comparison stage mean the same on every device.
NOMINAL_DPI = 500


class MinutiaKind(IntEnum):
    """ISO/IEC 19794-2 minutia types (the two top bits of the x field)."""

    OTHER = 0
    ENDING = 1
    BIFURCATION = 2


@dataclass(frozen=True, eq=False)
class MinutiaSet:
    """Minutiae of one finger view, as parallel arrays so every stage can vectorise.

    `direction` is in radians in [0, 2π), counter-clockwise from the image's +x axis with the
    image's y axis pointing down (the ISO/IEC 19794-2 convention), so ISO angles convert by
    scaling alone. `quality` is 0–100 per minutia (0 = unknown). `extractor` names the
    extractor and version that made the set ("" when unknown: another vendor's record, or a
    template stored before extractors were recorded), so a gallery made by an older
    extractor can be found and re-extracted.
    """

    x: NDArray[np.float32]
    y: NDArray[np.float32]
    direction: NDArray[np.float32]
    kind: NDArray[np.uint8]
    quality: NDArray[np.uint8]
    width: int
    height: int
    resolution_dpi: int = NOMINAL_DPI
    finger_position: int = 0
    image_quality: int = 0
    extractor: str = ""
    extras: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.x)
        for name in ("y", "direction", "kind", "quality"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"MinutiaSet.{name} has {len(getattr(self, name))} items, x has {n}"
                )

    def __len__(self) -> int:
        return len(self.x)

    @classmethod
    def from_arrays(
        cls,
        x: NDArray[np.floating] | list[float],
        y: NDArray[np.floating] | list[float],
        direction: NDArray[np.floating] | list[float],
        kind: NDArray[np.integer] | list[int] | None = None,
        quality: NDArray[np.integer] | list[int] | None = None,
        *,
        width: int,
        height: int,
        resolution_dpi: int = NOMINAL_DPI,
        finger_position: int = 0,
        image_quality: int = 0,
        extractor: str = "",
    ) -> MinutiaSet:
        """Build a set from any array-likes, normalising dtypes and wrapping directions."""
        xs = np.asarray(x, dtype=np.float32)
        n = len(xs)
        return cls(
            x=xs,
            y=np.asarray(y, dtype=np.float32),
            direction=np.mod(np.asarray(direction, dtype=np.float32), np.float32(2 * np.pi)),
            kind=np.asarray(kind if kind is not None else np.ones(n), dtype=np.uint8),
            quality=np.asarray(quality if quality is not None else np.zeros(n), dtype=np.uint8),
            width=width,
            height=height,
            resolution_dpi=resolution_dpi,
            finger_position=finger_position,
            image_quality=image_quality,
            extractor=extractor,
        )
