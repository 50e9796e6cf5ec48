"""Value types shared by every iris stage: segmentation, normalisation, encoding and comparison.

Iris code layout (documented once, used everywhere): 8 radial rings × 128 angular positions
× 2 quadrature bits (the sign of the real and of the imaginary part of a complex log-Gabor
response) = 2,048 bits, Daugman's classic size, plus a mask bit per code bit. Bits are stored
angle-major: the 16 bits of one angular position (8 rings × 2) form two consecutive bytes,
so a circular shift of the eye by one angular step (360/128 = 2.8125°) is a roll of the packed
256-byte array by two bytes — no bit twiddling on the comparison's hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

RINGS = 8
ANGLES = 128
BITS_PER_SAMPLE = 2
CODE_BITS = RINGS * ANGLES * BITS_PER_SAMPLE  # 2,048
CODE_BYTES = CODE_BITS // 8  # 256
BYTES_PER_ANGLE = RINGS * BITS_PER_SAMPLE // 8  # 2
CODE_WORDS = CODE_BYTES // 8  # 32 uint64 words


class IrisError(ValueError):
    """Base of every iris input error: a machine-readable `code` and a human sentence."""

    code: str = "iris_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class IrisImageError(IrisError):
    """The bytes are not a usable eye image (not an image, empty, wrong size)."""

    code = "iris_bad_image"


class IrisSegmentationError(IrisError):
    """The image decodes, but no usable eye was found in it (the reason is in `code`)."""

    code = "iris_no_eye"


class IrisTemplateError(IrisError):
    """A stored iris template is truncated, of an unknown version or inconsistent."""

    code = "iris_bad_template"


@dataclass(frozen=True)
class Circle:
    """A boundary as a circle in image pixels (x right, y down)."""

    x: float
    y: float
    r: float


@dataclass(frozen=True)
class Eyelid:
    """An eyelid margin as a parabola y = y0 + a·(x − x0)² in image pixels.

    `a > 0` for the upper lid (highest in the middle), `a < 0` for the lower one; `found` is
    False when no lid edge crossed the iris, in which case the parabola is the limbus tangent.
    """

    x0: float
    y0: float
    a: float
    found: bool

    def y_at(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        return (self.y0 + self.a * (x - self.x0) ** 2).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Where the iris is in one image, plus the pixel-level noise mask (True = noisy)."""

    pupil: Circle
    limbus: Circle
    upper_lid: Eyelid
    lower_lid: Eyelid
    noise: NDArray[np.bool_]
    width: int
    height: int


@dataclass(frozen=True, eq=False)
class IrisCode:
    """2,048 packed code bits and their mask (1 = valid), angle-major; see the module doc."""

    code: NDArray[np.uint8]
    mask: NDArray[np.uint8]
    # This code's bit-correlation factors by lag window (`matcher.iris.correlation`), filled
    # on first use: the 1:N re-rank compares one stored code with probe after probe, and
    # working the factor out again for every pair cost more than the comparison itself.
    correlation_factors: dict[tuple[int, int], float] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for name in ("code", "mask"):
            arr = getattr(self, name)
            if arr.dtype != np.uint8 or arr.shape != (CODE_BYTES,):
                raise IrisTemplateError(
                    f"IrisCode.{name} must be {CODE_BYTES} uint8 bytes, got {arr.dtype}{arr.shape}"
                )

    @property
    def valid_bits(self) -> int:
        return int(np.bitwise_count(self.mask).sum())

    @classmethod
    def from_bits(cls, bits: NDArray[np.bool_], mask: NDArray[np.bool_]) -> IrisCode:
        """Pack (ANGLES, RINGS, 2) boolean arrays into the angle-major byte layout."""
        expected = (ANGLES, RINGS, BITS_PER_SAMPLE)
        if bits.shape != expected or mask.shape != expected:
            raise IrisTemplateError(f"iris bits must have shape {expected}, got {bits.shape}")
        return cls(code=np.packbits(bits.reshape(-1)), mask=np.packbits(mask.reshape(-1)))

    def bits(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """Unpack to (ANGLES, RINGS, 2) boolean arrays (code, mask)."""
        shape = (ANGLES, RINGS, BITS_PER_SAMPLE)
        return (
            np.unpackbits(self.code).astype(bool).reshape(shape),
            np.unpackbits(self.mask).astype(bool).reshape(shape),
        )


@dataclass(frozen=True)
class IrisQuality:
    """A 0–100 capture quality with the reasons an operator can act on."""

    score: int
    usable_fraction: float
    sharpness: float
    dilation: float
    gaze_offset: float
    reasons: tuple[str, ...] = ()
    # Visible iris pixels in the working frame and the pupil's 1 − minor/major axis ratio.
    usable_area: float = 0.0
    pupil_ellipticity: float = 0.0
    # One code per reason, in the same order (`iris_occlusion`, `iris_blur`, ...), for
    # callers that translate or count them.
    reason_codes: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class IrisTemplate:
    """Everything extraction returns for one eye image."""

    iris_code: IrisCode
    quality: IrisQuality
    segmentation: Segmentation | None = None
    extras: dict[str, object] = field(default_factory=dict)
