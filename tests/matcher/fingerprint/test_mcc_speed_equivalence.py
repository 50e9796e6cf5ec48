"""The compiled cylinder builder must give exactly the cylinders of the MCC definition.

`build_cylinders` is optimised (compiled loops, neighbours pruned by distance, invalid cells
and discarded cylinders skipped), so it is checked here against a reference written for
clarity: one cylinder, one cell, one neighbour at a time, straight from the definition
(Cappelli, Ferrara and Maltoni, TPAMI 2010), with the same geometry conventions as
`matcher.fingerprint.mcc`. Bits, validity masks and the kept minutiae must be identical.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from matcher.fingerprint.mcc import DEFAULT_MCC, Cylinders, MccParams, build_cylinders
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.minutiae import impression, master


def _wrap(angle: float) -> float:
    """Angle wrapped to [−π, π)."""
    return (angle + math.pi) % (2.0 * math.pi) - math.pi


def _gaussian(value: float, sigma: float) -> float:
    return math.exp(-(value**2) / (2.0 * sigma**2)) / (sigma * math.sqrt(2.0 * math.pi))


def _distance_to_hull(px: float, py: float, hull: list[tuple[float, float]]) -> float:
    """0 inside the convex polygon, else the distance to its nearest edge."""
    nearest = math.inf
    crosses = []
    for k, (sx, sy) in enumerate(hull):
        ex, ey = hull[(k + 1) % len(hull)]
        vx, vy = ex - sx, ey - sy
        length2 = max(vx * vx + vy * vy, 1e-12)
        t = min(max(((px - sx) * vx + (py - sy) * vy) / length2, 0.0), 1.0)
        qx, qy = sx + t * vx, sy + t * vy
        nearest = min(nearest, math.sqrt((px - qx) ** 2 + (py - qy) ** 2))
        crosses.append(vx * (py - sy) - vy * (px - sx))  # > 0: left of the edge
    # Inside a convex polygon means on the same side of every edge (either orientation).
    inside = len(hull) >= 3 and (all(c >= 0 for c in crosses) or all(c <= 0 for c in crosses))
    return 0.0 if inside else nearest


def reference_cylinders(
    ms: MinutiaSet, params: MccParams = DEFAULT_MCC
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.int64]]:
    """(bits (n, sections, cells²), validity (n, cells²), kept minutiae) of the valid cylinders."""
    xs = [float(v) for v in ms.x]
    ys = [float(v) for v in ms.y]
    ds = [float(v) for v in ms.direction]
    n = len(xs)
    points = np.array([xs, ys], dtype=np.float32).T.reshape(n, 2)
    hull_points = cv2.convexHull(points).reshape(-1, 2) if n else np.zeros((0, 2))
    hull = [(float(px), float(py)) for px, py in hull_points]
    step = 2.0 * params.radius / params.cells
    centre_offsets = [(k - (params.cells - 1) / 2.0) * step for k in range(params.cells)]
    width = 2.0 * math.pi / params.sections
    section_angles = [-math.pi + (k + 0.5) * width for k in range(params.sections)]
    disc_cells = sum(
        a * a + b * b <= params.radius**2 for a in centre_offsets for b in centre_offsets
    )

    all_bits, all_valid, kept = [], [], []
    for m in range(n):
        neighbours = sum(
            math.hypot(xs[m] - xs[t], ys[m] - ys[t]) <= params.radius + 3.0 * params.sigma_s
            for t in range(n)
            if t != m
        )
        cos_m, sin_m = math.cos(ds[m]), math.sin(ds[m])
        valid = np.zeros(params.cells**2, dtype=bool)
        bits = np.zeros((params.sections, params.cells**2), dtype=bool)
        for i, along in enumerate(centre_offsets):
            for j, across in enumerate(centre_offsets):
                cell = i * params.cells + j
                # Direction vector (cos θ, −sin θ) in image coordinates (y points down).
                cx = xs[m] + along * cos_m + across * sin_m
                cy = ys[m] - along * sin_m + across * cos_m
                in_disc = along**2 + across**2 <= params.radius**2
                valid[cell] = in_disc and _distance_to_hull(cx, cy, hull) <= params.omega
                if not valid[cell]:
                    continue
                totals = [0.0] * params.sections
                for t in range(n):
                    distance = math.hypot(cx - xs[t], cy - ys[t])
                    if t == m or distance > 3.0 * params.sigma_s:
                        continue
                    for k, angle in enumerate(section_angles):
                        turn = _wrap(_wrap(ds[t] - ds[m]) - angle)
                        totals[k] += _gaussian(distance, params.sigma_s) * (
                            _gaussian(turn, params.sigma_d) * width
                        )
                bits[:, cell] = np.array(totals) > params.mu_psi
        if valid.sum() >= params.min_valid_fraction * disc_cells and (
            neighbours >= params.min_neighbours
        ):
            all_bits.append(bits)
            all_valid.append(valid)
            kept.append(m)
    if not kept:
        return (
            np.zeros((0, params.sections, params.cells**2), bool),
            np.zeros((0, params.cells**2), bool),
            np.zeros(0, np.int64),
        )
    return np.array(all_bits), np.array(all_valid), np.array(kept, dtype=np.int64)


def _unpack(cyl: Cylinders, params: MccParams) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Packed words back to (n, sections, cells²) bits and (n, cells²) validity."""
    cells = params.cells**2
    unpacked = np.unpackbits(cyl.cells.view(np.uint8), axis=1, bitorder="little")
    width = params.cell_words * 64
    bits = unpacked[:, width:].reshape(len(cyl.index), params.sections, width)[:, :, :cells]
    mask = unpacked[:, :cells]
    return bits.astype(bool), mask.astype(bool)


def _assert_same(ms: MinutiaSet, params: MccParams = DEFAULT_MCC) -> Cylinders:
    fast = build_cylinders(ms, params)
    ref_bits, ref_valid, ref_index = reference_cylinders(ms, params)
    np.testing.assert_array_equal(fast.index, ref_index)
    assert fast.cells.shape == (len(ref_index), params.cell_words + params.words)
    bits, mask = _unpack(fast, params)
    np.testing.assert_array_equal(mask, ref_valid)
    np.testing.assert_array_equal(bits, ref_bits)
    geometry = np.stack([ms.x, ms.y, ms.direction], axis=1)[ref_index]
    np.testing.assert_array_equal(fast.geometry, geometry.reshape(-1, 3))
    return fast


def _set(points: list[tuple[float, float, float]], size: int = 300) -> MinutiaSet:
    xs, ys, ds = zip(*points, strict=True) if points else ((), (), ())
    return MinutiaSet.from_arrays(list(xs), list(ys), list(ds), width=size, height=size)


def _subset(ms: MinutiaSet, keep: NDArray[np.int64]) -> MinutiaSet:
    return MinutiaSet.from_arrays(
        ms.x[keep], ms.y[keep], ms.direction[keep], width=ms.width, height=ms.height
    )


@pytest.mark.parametrize("seed", [3, 11])
def test_synthetic_impression_matches_reference(seed: int) -> None:
    probe = impression(master(seed), seed=seed)
    # A contiguous part of the impression keeps the reference quick and leaves border cells.
    near = np.argsort(np.hypot(probe.x - probe.x[0], probe.y - probe.y[0]))[:14]
    fast = _assert_same(_subset(probe, near))
    assert len(fast.index) > 0


def test_minutiae_near_the_border_and_duplicates_match_reference() -> None:
    rng = np.random.default_rng(5)
    points = [(float(rng.uniform(0, 40)), float(rng.uniform(0, 300)), 0.0) for _ in range(6)]
    points += [
        (float(rng.uniform(0, 120)), float(rng.uniform(0, 300)), float(rng.uniform(0, 6.28)))
        for _ in range(6)
    ]
    points += [points[3], points[3], points[7]]  # exact duplicates (same place and direction)
    fast = _assert_same(_set(points))
    assert len(fast.index) > 0


@pytest.mark.parametrize("count", [0, 1, 2, 3])
def test_few_minutiae_match_reference(count: int) -> None:
    points = [(100.0, 100.0, 0.3), (130.0, 110.0, 1.2), (110.0, 140.0, 5.9)][:count]
    _assert_same(_set(points))


def test_collinear_minutiae_match_reference() -> None:
    # The convex hull degenerates to a segment: validity is the distance to that segment.
    points = [(50.0 + 20.0 * k, 80.0 + 10.0 * k, 0.4 * k) for k in range(5)]
    _assert_same(_set(points))


def test_other_geometry_matches_reference() -> None:
    params = MccParams(radius=50.0, cells=10, sections=5, omega=20.0)
    probe = impression(master(8), seed=2)
    near = np.argsort(np.hypot(probe.x - probe.x[5], probe.y - probe.y[5]))[:12]
    _assert_same(_subset(probe, near), params)


def test_interior_minutiae_match_reference() -> None:
    # A wide spread of minutiae puts the central ones far inside the hull, where the builder
    # skips the hull test for every cell; random directions put neighbours on box edges.
    rng = np.random.default_rng(17)
    points = [
        (60.0 + 45.0 * i + float(rng.uniform(-8, 8)), 60.0 + 45.0 * j + float(rng.uniform(-8, 8)),
         float(rng.uniform(0, 2 * np.pi)))
        for i in range(4)
        for j in range(4)
    ]  # fmt: skip
    fast = _assert_same(_set(points))
    assert len(fast.index) == len(points)
