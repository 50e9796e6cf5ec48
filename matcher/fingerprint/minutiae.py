"""Minutiae from the skeleton: detection, direction and removal of false minutiae.

Detection is the crossing number (1 = ending, 3 = bifurcation). Directions follow one
convention, chosen so that a minutia keeps its direction when pressure turns an ending into a
bifurcation (the ridge/valley duality):

- a ridge **ending** points from the tip along its ridge, into the ridge;
- a ridge **bifurcation** points from the fork between its two branches, away from the stem
  (the single ridge). A ridge ending is a valley bifurcation whose valley branches run along
  both sides of the ridge, so both kinds point the same way as their dual.

Angles are returned in the ISO/IEC 19794-2 sense of `MinutiaSet`: counter-clockwise on screen
from +x (image y axis pointing down), i.e. atan2(−dy, dx) of the pixel displacement.

The traced direction gives the sense; the (smoother, more precise) orientation field gives the
angle where the two agree within 30°, which is nearly everywhere except around cores.

False minutiae are removed by the rules of the literature (Maltoni et al., ch. 3): near the
foreground border, spurs (an ending whose ridge meets a bifurcation within a few pixels),
short ridges (two endings joined by a short ridge), bridges and holes (two bifurcations
joined by a short ridge), broken ridges (two endings facing each other across a small gap),
and clusters (many minutiae crowded together, the mark of noise, scars and creases).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.params import ExtractionParams
from matcher.fingerprint.trace import STOP_BIFURCATION, STOP_ENDING, trace_all
from matcher.fingerprint.types import MinutiaKind

F32 = NDArray[np.float32]


@dataclass(frozen=True)
class RawMinutiae:
    """Minutiae in pixel coordinates; `angle` in the ISO sense (see the module docstring)."""

    x: NDArray[np.int64]
    y: NDArray[np.int64]
    angle: NDArray[np.float64]
    kind: NDArray[np.uint8]

    def __len__(self) -> int:
        return len(self.x)

    def subset(self, keep: NDArray[np.bool_]) -> RawMinutiae:
        return RawMinutiae(self.x[keep], self.y[keep], self.angle[keep], self.kind[keep])


def _angle_diff(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Absolute angular difference in [0, π]."""
    d = np.mod(a - b + np.pi, 2 * np.pi) - np.pi
    return np.abs(d)


def _branch_angles(vec: NDArray[np.float64]) -> NDArray[np.float64]:
    """ISO angle of each traced branch vector (dy, dx)."""
    return np.mod(np.arctan2(-vec[..., 0], vec[..., 1]), 2 * np.pi)


def _directions(
    kind: NDArray[np.uint8],
    vec: NDArray[np.float64],
    stop: NDArray[np.int64],
    field_theta: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Minutia directions: the orientation field's axis, its sense read from the branches.

    Along the local ridge axis, an ending's single branch lies on one side; a bifurcation's
    two fork branches lie on one side and its stem on the other, so the majority of branch
    senses says where the minutia points. This vote is far more robust than picking the stem
    by the angles between branches, which are nearly parallel a few pixels from the fork.
    Where the traced branches disagree with the field by more than 45° (the field is smooth
    and can miss a sharp turn near a core), the traced direction is kept instead.
    """
    angles = _branch_angles(vec)
    traced = angles[:, 0].copy()
    bif = (kind == MinutiaKind.BIFURCATION) & (stop[:, 2] >= 0)
    if bif.any():
        a = angles[bif]
        d01 = _angle_diff(a[:, 0], a[:, 1])
        d02 = _angle_diff(a[:, 0], a[:, 2])
        d12 = _angle_diff(a[:, 1], a[:, 2])
        spread = np.stack([d01 + d02, d01 + d12, d02 + d12], axis=1)
        stem = np.take_along_axis(a, np.argmax(spread, axis=1)[:, None], axis=1)[:, 0]
        traced[bif] = np.mod(stem + np.pi, 2 * np.pi)
    # The field gives an axis (mod π) in image coordinates; in the ISO sense it is −θ.
    axis = np.mod(-field_theta, np.pi)
    # Branch vectors (dy, dx) in image coordinates → components along the axis.
    proj = vec[..., 1] * np.cos(axis)[:, None] - vec[..., 0] * np.sin(axis)[:, None]
    used = stop >= 0
    votes = np.where(used, np.sign(proj), 0.0).sum(axis=1)
    voted = np.where(votes >= 0, axis, axis + np.pi)
    agree = _angle_diff(voted, traced) < np.deg2rad(45)
    return np.mod(np.where(agree, voted, traced), 2 * np.pi)


def detect(
    skeleton: NDArray[np.uint8],
    crossing: NDArray[np.uint8],
    theta_pixels: F32,
    distance_to_border: F32,
    params: ExtractionParams,
) -> RawMinutiae:
    """Minutiae of a skeleton with false ones removed."""
    ys, xs = np.nonzero((crossing == 1) | (crossing == 3))
    inside = distance_to_border[ys, xs] > 2
    ys, xs = ys[inside].astype(np.int64), xs[inside].astype(np.int64)
    kind = np.where(crossing[ys, xs] == 1, MinutiaKind.ENDING, MinutiaKind.BIFURCATION).astype(
        np.uint8
    )
    stop, other, length, vec = trace_all(
        skeleton, crossing, ys, xs, params.trace_steps, params.direction_steps
    )
    angle = _directions(kind, vec, stop, theta_pixels[ys, xs].astype(np.float64))
    raw = RawMinutiae(xs, ys, angle, kind)
    keep = _remove_false(raw, stop, other, length, distance_to_border, params)
    return raw.subset(keep)


def _faces_border(m: RawMinutiae, distance_to_border: F32, ray: float) -> NDArray[np.bool_]:
    """True where the ray from a minutia against its direction leaves the foreground soon."""
    steps = np.arange(2.0, ray + 1.0, 2.0)
    # Beyond the tip is opposite to the direction (which points into the ridge).
    ux, uy = -np.cos(m.angle), np.sin(m.angle)  # ISO angle → image displacement, reversed
    h, w = distance_to_border.shape
    px = np.rint(m.x[:, None] + ux[:, None] * steps[None, :]).astype(np.int64)
    py = np.rint(m.y[:, None] + uy[:, None] * steps[None, :]).astype(np.int64)
    outside = (px < 0) | (py < 0) | (px >= w) | (py >= h)
    inside_px = np.clip(px, 0, w - 1)
    inside_py = np.clip(py, 0, h - 1)
    outside |= distance_to_border[inside_py, inside_px] <= 0
    return np.asarray(outside.any(axis=1))


def _remove_false(
    m: RawMinutiae,
    stop: NDArray[np.int64],
    other: NDArray[np.int64],
    length: NDArray[np.int64],
    distance_to_border: F32,
    params: ExtractionParams,
) -> NDArray[np.bool_]:
    n = len(m)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    ending = m.kind == MinutiaKind.ENDING
    bifurcation = ~ending
    # Rules on traced connections: (minutia, branch) pairs that meet another minutia soon.
    for stop_kind, own, limit in (
        (STOP_BIFURCATION, ending, params.spur_length),
        (STOP_ENDING, ending, params.short_ridge_length),
        (STOP_BIFURCATION, bifurcation, params.bridge_length),
    ):
        hit = (stop == stop_kind) & (length <= limit) & own[:, None] & (other >= 0)
        rows, cols = np.nonzero(hit)
        keep[rows] = False
        keep[other[rows, cols]] = False
    # Border: ridges are cut by the contact edge, so endings facing it are artefacts. An
    # ending faces the border when the line continuing its ridge beyond the tip leaves the
    # foreground within `border_ray` px; anything closer than `border_distance` goes too.
    keep &= distance_to_border[m.y, m.x] >= params.border_distance
    keep &= ~(ending & _faces_border(m, distance_to_border, params.border_ray))
    # Pairwise rules on straight-line geometry.
    dx = m.x[:, None] - m.x[None, :]
    dy = m.y[:, None] - m.y[None, :]
    dist = np.sqrt((dx * dx + dy * dy).astype(np.float64))
    np.fill_diagonal(dist, np.inf)
    # Broken ridge: two endings close together, pointing at each other's ridge (opposite
    # directions), with the gap running along the ridge.
    both_end = ending[:, None] & ending[None, :]
    opposite = _angle_diff(m.angle[:, None], m.angle[None, :]) > np.deg2rad(120)
    gap_angle = np.arctan2(-dy, dx)  # ISO angle of the vector from j to i
    along = _angle_diff(gap_angle, m.angle[None, :] + np.pi) < np.deg2rad(45)
    broken = both_end & opposite & (dist < params.broken_gap) & (along | along.T)
    keep &= ~broken.any(axis=1)
    # Clusters: noise produces many minutiae in a small area.
    crowded = (dist < params.cluster_radius).sum(axis=1) >= 2
    keep &= ~crowded
    return keep
