"""Geometric transform from a master fingerprint to one impression.

One `Warp` serves both generators, so an image impression and its ground-truth minutiae move
identically: the image is resampled through `inverse`, the minutiae go through `forward`.

The non-linear part follows the plastic distortion model of Cappelli, Maio and Maltoni
(2001): skin in the close-contact region does not move, skin outside a larger region moves
rigidly with the lateral force and torque the finger applies, and a smooth "brake" function
blends the two across the transitional ring. A global rotation and translation (how the
finger was placed on the sensor) follow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.synthetic.orientation import FingerShape

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Warp:
    """Master → impression mapping: plastic distortion, then rotation about a pivot, then shift.

    Angles are counter-clockwise as seen on the image (pixel y points down).
    """

    rotation: float = 0.0
    tx: float = 0.0
    ty: float = 0.0
    pivot_x: float = 0.0
    pivot_y: float = 0.0
    contact_x: float = 0.0
    contact_y: float = 0.0
    inner_radius: float = 1.0
    outer_radius: float = 2.0
    skin_dx: float = 0.0
    skin_dy: float = 0.0
    skin_rotation: float = 0.0

    def displacement(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Plastic displacement of master points: zero in the contact core, rigid far out."""
        rx = x - self.contact_x
        ry = y - self.contact_y
        dist = np.hypot(rx, ry)
        t = np.clip((dist - self.inner_radius) / (self.outer_radius - self.inner_radius), 0, 1)
        brake = t * t * (3 - 2 * t)  # smoothstep keeps the field differentiable at both rings
        c, s = np.cos(self.skin_rotation), np.sin(self.skin_rotation)
        # Rigid motion of the outer skin about the contact centre (clockwise in pixel space
        # for a counter-clockwise turn on the image).
        moved_x = c * rx + s * ry + self.skin_dx
        moved_y = -s * rx + c * ry + self.skin_dy
        return brake * (moved_x - rx), brake * (moved_y - ry)

    def forward(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Where master points (x, y) appear in the impression."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        dx, dy = self.displacement(x, y)
        px = x + dx - self.pivot_x
        py = y + dy - self.pivot_y
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        return (
            c * px + s * py + self.pivot_x + self.tx,
            -s * px + c * py + self.pivot_y + self.ty,
        )

    def inverse(
        self, u: FloatArray, v: FloatArray, iterations: int = 5
    ) -> tuple[FloatArray, FloatArray]:
        """Master points that land on impression points (u, v), by fixed-point iteration.

        The plastic field's gradient stays well below 1 (a few pixels of slip spread over tens
        of pixels), so p = q − D(p) contracts and a handful of iterations is sub-pixel exact.
        """
        u = np.asarray(u, dtype=np.float64) - self.pivot_x - self.tx
        v = np.asarray(v, dtype=np.float64) - self.pivot_y - self.ty
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        qx = c * u - s * v + self.pivot_x
        qy = s * u + c * v + self.pivot_y
        x, y = qx, qy
        for _ in range(iterations):
            dx, dy = self.displacement(x, y)
            x, y = qx - dx, qy - dy
        return x, y

    def forward_directions(
        self, x: FloatArray, y: FloatArray, direction: FloatArray, step: float = 4.0
    ) -> FloatArray:
        """Directions after the warp, by mapping a short step along each direction."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        direction = np.asarray(direction, dtype=np.float64)
        x0, y0 = self.forward(x, y)
        x1, y1 = self.forward(x + step * np.cos(direction), y - step * np.sin(direction))
        return np.mod(np.arctan2(-(y1 - y0), x1 - x0), 2 * np.pi)


def sample_warp(
    rng: np.random.Generator,
    *,
    center_x: float,
    center_y: float,
    max_rotation_deg: float,
    max_translation: float,
    distortion: float,
) -> Warp:
    """A random placement and plastic distortion of a finger centred at (center_x, center_y).

    `distortion` scales the skin slip: 1.0 gives up to about 10 px and 4° in the outer skin,
    the range Cappelli et al. observed for normal (not deliberately twisted) placements.
    """
    inner = rng.uniform(40, 80)
    return Warp(
        rotation=float(np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg))),
        tx=float(rng.uniform(-max_translation, max_translation)),
        ty=float(rng.uniform(-max_translation, max_translation)),
        pivot_x=center_x,
        pivot_y=center_y,
        contact_x=center_x + rng.normal(0, 20),
        contact_y=center_y + rng.normal(0, 25),
        inner_radius=float(inner),
        outer_radius=float(inner + rng.uniform(90, 150)),
        skin_dx=float(distortion * rng.uniform(-10, 10)),
        skin_dy=float(distortion * rng.uniform(-10, 10)),
        skin_rotation=float(np.deg2rad(distortion * rng.uniform(-4, 4))),
    )


@dataclass(frozen=True)
class Placement:
    """How a finger lands on the sensor; shared by template-level and image impressions."""

    max_rotation_deg: float = 15.0
    max_translation: float = 20.0
    distortion: float = 1.0
    # The part of the footprint touching the sensor, as a fraction of its half-axes.
    contact_min: float = 0.70
    contact_max: float = 1.0

    def sample(self, rng: np.random.Generator, shape: FingerShape) -> tuple[Warp, FingerShape]:
        """A warp and the contact region of one capture of a finger with footprint `shape`."""
        warp = sample_warp(
            rng,
            center_x=shape.cx,
            center_y=shape.cy,
            max_rotation_deg=self.max_rotation_deg,
            max_translation=self.max_translation,
            distortion=self.distortion,
        )
        return warp, shape.partial(rng, self.contact_min, self.contact_max)
