"""Global shape of a synthetic fingerprint: class, singular points, orientation and density.

The orientation field follows the Sherlock–Monro zero-pole model used by SFinGe (Cappelli,
Maio and Maltoni): every delta adds and every core subtracts half its argument, so the field
turns by ±π around each singular point exactly as real ridge flow does. Arches have no
singular points and get a smooth "hump" field instead. Everything is vectorised over point
arrays so that the template-level generator can evaluate a million fingers quickly.

Conventions: points are pixel coordinates (x right, y down) of a canvas at 500 dpi; angles are
ISO/IEC 19794-2-style, counter-clockwise from +x as seen on the image (so a direction θ moves
by (cos θ, −sin θ) in pixel coordinates). Ridge orientations are in [0, π).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class FingerprintClass(StrEnum):
    """The five Henry classes SFinGe generates."""

    ARCH = "arch"
    TENTED_ARCH = "tented_arch"
    LEFT_LOOP = "left_loop"
    RIGHT_LOOP = "right_loop"
    WHORL = "whorl"


# Natural class frequencies quoted by Cappelli et al. for SFinGe (sum to 1).
CLASS_FREQUENCIES: dict[FingerprintClass, float] = {
    FingerprintClass.ARCH: 0.037,
    FingerprintClass.TENTED_ARCH: 0.029,
    FingerprintClass.LEFT_LOOP: 0.338,
    FingerprintClass.RIGHT_LOOP: 0.317,
    FingerprintClass.WHORL: 0.279,
}


@dataclass(frozen=True)
class FingerShape:
    """A superellipse footprint: rounder at the fingertip, squarer towards the first crease."""

    cx: float
    cy: float
    half_width: float
    half_height: float
    top_exponent: float = 2.0
    bottom_exponent: float = 3.0

    def contains(self, x: FloatArray, y: FloatArray, margin: float = 0.0) -> NDArray[np.bool_]:
        """True where (x, y) lies inside the footprint shrunk by `margin` pixels."""
        u = np.abs(x - self.cx) / max(self.half_width - margin, 1.0)
        dy = y - self.cy
        v = np.abs(dy) / max(self.half_height - margin, 1.0)
        p = np.where(dy < 0, self.top_exponent, self.bottom_exponent)
        return np.asarray(u**p + v**p <= 1.0)

    def mask(self, width: int, height: int, margin: float = 0.0) -> NDArray[np.bool_]:
        """The footprint rasterised on a width × height canvas."""
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
        return self.contains(xx, yy, margin)

    def partial(self, rng: np.random.Generator, low: float, high: float) -> FingerShape:
        """The part pressed onto the sensor: half-axes scaled by [low, high], shifted inside."""
        scale_x = rng.uniform(low, high)
        scale_y = rng.uniform(low, high)
        return replace(
            self,
            cx=self.cx + rng.uniform(-1, 1) * self.half_width * (1 - scale_x),
            cy=self.cy + rng.uniform(-1, 1) * self.half_height * (1 - scale_y),
            half_width=self.half_width * scale_x,
            half_height=self.half_height * scale_y,
        )


@dataclass(frozen=True)
class OrientationModel:
    """Singular points of one finger and the parameters needed to evaluate its ridge flow.

    `cores` and `deltas` are complex pixel positions (x + iy). `rotation` turns the whole
    pattern (fingers are never placed perfectly upright). `arch_amplitude` and `arch_width`
    shape the hump of a plain arch; they are unused for other classes.
    """

    kind: FingerprintClass
    cores: NDArray[np.complex128]
    deltas: NDArray[np.complex128]
    center: complex
    rotation: float
    arch_amplitude: float = 0.0
    arch_width: float = 1.0

    def orientation(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """Ridge orientation in [0, π) at pixel positions (x, y)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if self.kind is FingerprintClass.ARCH:
            theta = self._arch(x, y)
        else:
            z = x + 1j * y
            theta = np.zeros(np.broadcast(x, y).shape, dtype=np.float64)
            # Going counter-clockwise around a core the flow turns by +π, around a delta by −π
            # (Poincaré indices ±½). Pixel y points down, so counter-clockwise arguments are
            # the negated pixel-space ones, hence the signs.
            for d in self.deltas:
                theta += 0.5 * np.angle(z - d)
            for c in self.cores:
                theta -= 0.5 * np.angle(z - c)
            theta += self.rotation
        return np.mod(theta, np.pi)

    def _arch(self, x: FloatArray, y: FloatArray) -> FloatArray:
        """A hump whose slope peaks on both sides of the axis and fades towards the crease."""
        cos_r, sin_r = np.cos(self.rotation), np.sin(self.rotation)
        dx = x - self.center.real
        dy = y - self.center.imag
        u = cos_r * dx - sin_r * dy
        v = sin_r * dx + cos_r * dy
        s = self.arch_width
        slope = (
            self.arch_amplitude
            * (u / s)
            * np.exp(-0.5 * (u / s) ** 2)
            * np.exp(-((v / 160.0) ** 2))
        )
        # A ridge rising towards the axis has a positive slope on the left (u < 0).
        return np.arctan(-slope) + self.rotation


def sample_class(rng: np.random.Generator) -> FingerprintClass:
    """Draw a class with the natural frequencies."""
    classes = list(CLASS_FREQUENCIES)
    probabilities = np.array([CLASS_FREQUENCIES[c] for c in classes])
    return classes[int(rng.choice(len(classes), p=probabilities / probabilities.sum()))]


def sample_shape(rng: np.random.Generator, width: int, height: int) -> FingerShape:
    """A fingertip footprint that nearly fills the canvas, as on a flat 500 dpi capture."""
    return FingerShape(
        cx=width / 2 + rng.normal(0, width * 0.01),
        cy=height / 2 + rng.normal(0, height * 0.01),
        half_width=width * rng.uniform(0.40, 0.47),
        half_height=height * rng.uniform(0.42, 0.48),
        top_exponent=float(rng.uniform(1.8, 2.3)),
        bottom_exponent=float(rng.uniform(2.5, 4.0)),
    )


def sample_orientation_model(
    rng: np.random.Generator,
    shape: FingerShape,
    kind: FingerprintClass | None = None,
) -> OrientationModel:
    """Place cores and deltas for a class drawn with natural frequencies (or the one given).

    Distances are in pixels at 500 dpi (ridge period ≈ 9 px): a loop's delta lies about 8–16
    ridges from its core, a whorl's two cores are 2–5 ridges apart.
    """
    kind = kind or sample_class(rng)
    # The core region sits a little above the centre of the fingertip.
    cx = shape.cx + rng.normal(0, 0.06 * shape.half_width)
    cy = shape.cy - shape.half_height * rng.uniform(0.0, 0.25)
    rotation = float(np.deg2rad(rng.normal(0, 8)))
    center = complex(cx, cy)
    cores: list[complex] = []
    deltas: list[complex] = []
    if kind is FingerprintClass.TENTED_ARCH:
        cores.append(center)
        deltas.append(center + 1j * rng.uniform(35, 70) + rng.normal(0, 6))
    elif kind in (FingerprintClass.LEFT_LOOP, FingerprintClass.RIGHT_LOOP):
        side = 1.0 if kind is FingerprintClass.LEFT_LOOP else -1.0
        cores.append(center)
        deltas.append(center + side * rng.uniform(55, 110) + 1j * rng.uniform(70, 130))
    elif kind is FingerprintClass.WHORL:
        gap = rng.uniform(18, 45)
        tilt = rng.normal(0, 0.5)
        offset = 0.5 * gap * complex(np.sin(tilt), -np.cos(tilt))
        cores.extend([center + offset, center - offset])
        drop = rng.uniform(80, 130)
        deltas.append(center - rng.uniform(85, 130) + 1j * (drop + rng.normal(0, 12)))
        deltas.append(center + rng.uniform(85, 130) + 1j * (drop + rng.normal(0, 12)))
    # Rotate the singular points with the pattern, around the fingertip centre.
    pivot = complex(shape.cx, shape.cy)
    turn = np.exp(-1j * rotation)  # counter-clockwise on the image is clockwise in pixel space
    return OrientationModel(
        kind=kind,
        cores=np.array([pivot + (c - pivot) * turn for c in cores], dtype=np.complex128),
        deltas=np.array([pivot + (d - pivot) * turn for d in deltas], dtype=np.complex128),
        center=pivot + (center - pivot) * turn,
        rotation=rotation,
        arch_amplitude=float(rng.uniform(0.6, 1.4)),
        arch_width=float(rng.uniform(45, 80)),
    )


def ridge_period_map(
    rng: np.random.Generator, model: OrientationModel, x: FloatArray, y: FloatArray
) -> FloatArray:
    """Local ridge period in pixels (8–12 at 500 dpi).

    Following SFinGe's density map, ridges are sparser around the singular region and denser
    towards the fingertip and the crease; a low-frequency random term varies each finger.
    """
    base = rng.uniform(8.3, 9.8)
    phase = rng.uniform(0, 2 * np.pi, size=2)
    dist = np.abs((np.asarray(x) + 1j * np.asarray(y)) - model.center)
    period = (
        base
        + 1.2 * np.exp(-0.5 * (dist / 90.0) ** 2)
        + 0.4 * np.sin(np.asarray(x) / 70.0 + phase[0]) * np.cos(np.asarray(y) / 90.0 + phase[1])
    )
    return np.clip(period, 7.5, 12.5)
