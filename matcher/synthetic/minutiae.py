"""Fast template-level synthetic fingerprints: minutiae sets without images.

The 1:N index needs galleries of up to a million fingers; rendering images for that many is
out of the question, so this generator draws minutiae directly, but keeps the properties a
matcher or an index is sensitive to:

- a class-specific orientation field (zero-pole model, natural class frequencies), so minutia
  directions are coherent with ridge flow and neighbouring minutiae agree as on real fingers;
- a hard-core spatial process (Matérn type II thinning), so no two minutiae are closer than
  about one ridge period, as on a real skeleton;
- 40–80 minutiae on the whole fingertip, of which a flat impression shows ~30–60.

Impressions apply the same `Warp` (placement plus plastic distortion) as image impressions,
crop to the sensor and a partial contact region, drop and add minutiae, flip types and
jitter positions and angles, all deterministic by seed.

Usage::

    from matcher.synthetic.minutiae import master, impression
    finger = master(42)                 # MinutiaSet of the whole fingertip
    probe = impression(finger, seed=1)  # one capture of it
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from matcher.fingerprint.types import MinutiaKind, MinutiaSet
from matcher.synthetic.distortion import Placement, Warp
from matcher.synthetic.orientation import (
    FingerprintClass,
    FingerShape,
    OrientationModel,
    sample_orientation_model,
    sample_shape,
)

# Canvas of a master and of its impressions at 500 dpi: about 16 × 21 mm, a flat fingertip.
DEFAULT_WIDTH = 320
DEFAULT_HEIGHT = 416

# Closest allowed pair of minutiae: about one ridge period at 500 dpi.
MIN_SPACING_PX = 10.0


@dataclass(frozen=True)
class MasterParams:
    """How a template-level master is drawn; defaults give realistic flat-print statistics."""

    width: int = DEFAULT_WIDTH
    height: int = DEFAULT_HEIGHT
    # Whole-fingertip count; a flat impression loses the rim, giving ~30–60.
    mean_count: float = 60.0
    count_sigma: float = 10.0
    min_count: int = 38
    max_count: int = 90
    # Share of ridge endings; the rest are bifurcations (they occur about equally often).
    ending_share: float = 0.55
    # Angle noise of a minutia around the local ridge orientation, in degrees.
    angle_sigma_deg: float = 5.0


@dataclass(frozen=True)
class ImpressionParams(Placement):
    """What one capture does to the master's minutiae; defaults mimic a moderate-quality flat."""

    drop_rate: float = 0.10
    # Expected spurious minutiae as a fraction of the master count.
    spurious_rate: float = 0.08
    type_flip_rate: float = 0.08
    position_sigma: float = 2.0
    angle_sigma_deg: float = 6.0
    quality_sigma: float = 8.0


def rng_for(*seeds: int) -> np.random.Generator:
    """An independent, reproducible generator for a tuple of seeds."""
    return np.random.default_rng(np.random.SeedSequence([int(s) & 0xFFFFFFFF for s in seeds]))


def hard_core_points(
    rng: np.random.Generator, shape: FingerShape, count: int, spacing: float, margin: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Up to `count` points inside `shape`, no two closer than `spacing` (Matérn II thinning).

    Candidates carry a random mark; one is kept only if no candidate with a smaller mark lies
    within `spacing`. That is a single pass, unlike dart throwing.
    """
    candidates = 4 * count + 40
    x = rng.uniform(shape.cx - shape.half_width, shape.cx + shape.half_width, candidates)
    y = rng.uniform(shape.cy - shape.half_height, shape.cy + shape.half_height, candidates)
    inside = shape.contains(x, y, margin)
    x, y = x[inside], y[inside]
    keep = _thinned(x, y, spacing * spacing)
    return x[keep][:count], y[keep][:count]


@njit(cache=True, nogil=True)
def _thinned(
    x: NDArray[np.float64], y: NDArray[np.float64], spacing2: float
) -> NDArray[np.bool_]:  # pragma: no cover - compiled
    """Whether each candidate has no earlier one within the spacing (candidate order is
    already random, so the index serves as the mark). Compiled because the all-pairs matrix
    in numpy was half the time of a master, which large synthetic galleries make by the
    million; the comparisons are the same, so the points are too."""
    n = len(x)
    keep = np.ones(n, np.bool_)
    for i in range(n):
        for j in range(i):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx * dx + dy * dy < spacing2:
                keep[i] = False
                break
    return keep


def master(
    seed: int,
    *,
    params: MasterParams | None = None,
    kind: FingerprintClass | None = None,
    finger_position: int = 0,
) -> MinutiaSet:
    """The minutiae of one synthetic fingertip, deterministic by `seed`.

    `extras` carries `seed`, `class`, `model` (the `OrientationModel`) and `shape` (the
    `FingerShape`), so impressions can add spurious minutiae that follow the ridge flow.
    """
    p = params or MasterParams()
    rng = rng_for(seed, 0x5EED)
    shape = sample_shape(rng, p.width, p.height)
    model = sample_orientation_model(rng, shape, kind)
    count = int(np.clip(round(rng.normal(p.mean_count, p.count_sigma)), p.min_count, p.max_count))
    x, y = hard_core_points(rng, shape, count, MIN_SPACING_PX, margin=6.0)
    n = len(x)
    direction = (
        model.orientation(x, y)
        + np.pi * rng.integers(0, 2, n)
        + np.deg2rad(rng.normal(0, p.angle_sigma_deg, n))
    )
    kinds = np.where(
        rng.random(n) < p.ending_share, MinutiaKind.ENDING, MinutiaKind.BIFURCATION
    ).astype(np.uint8)
    quality = rng.integers(40, 101, n).astype(np.uint8)
    result = MinutiaSet.from_arrays(
        x,
        y,
        direction,
        kinds,
        quality,
        width=p.width,
        height=p.height,
        finger_position=finger_position,
        image_quality=int(rng.integers(60, 101)),
    )
    result.extras.update({"seed": int(seed), "class": model.kind.value, "model": model})
    result.extras["shape"] = shape
    return result


def impression(
    finger: MinutiaSet,
    seed: int,
    *,
    params: ImpressionParams | None = None,
    warp: Warp | None = None,
) -> MinutiaSet:
    """One capture of `finger`'s minutiae, deterministic by (`seed`, the master's seed).

    `extras["source"]` maps each output minutia to its index in the master (-1 for spurious
    ones) and `extras["warp"]` holds the transform, so tests and benchmarks know the truth.
    """
    p = params or ImpressionParams()
    master_seed = finger.extras.get("seed", 0)
    rng = rng_for(seed, master_seed if isinstance(master_seed, int) else 0, 0x1A9)
    shape = finger.extras.get("shape")
    if not isinstance(shape, FingerShape):
        shape = _bounding_shape(finger)
    model = finger.extras.get("model")
    sampled, contact = p.sample(rng, shape)
    w = warp or sampled

    mx = finger.x.astype(np.float64)
    my = finger.y.astype(np.float64)
    n = len(mx)
    keep = contact.contains(mx, my) & (rng.random(n) >= p.drop_rate)
    source = np.flatnonzero(keep)
    sx, sy = mx[keep], my[keep]
    sdir = finger.direction[keep].astype(np.float64)
    skind = finger.kind[keep].copy()
    flip = rng.random(len(source)) < p.type_flip_rate
    skind[flip] = np.where(
        skind[flip] == MinutiaKind.ENDING, MinutiaKind.BIFURCATION, MinutiaKind.ENDING
    )
    squal = finger.quality[keep].astype(np.float64)

    # Spurious minutiae: extraction artefacts inside the contact region, aligned with the flow.
    extra = int(rng.poisson(p.spurious_rate * n))
    fx, fy = _points_in(rng, contact, extra)
    if isinstance(model, OrientationModel):
        fdir = model.orientation(fx, fy) + np.pi * rng.integers(0, 2, len(fx))
    else:
        fdir = rng.uniform(0, 2 * np.pi, len(fx))
    fkind = rng.integers(1, 3, len(fx)).astype(np.uint8)
    fqual = rng.uniform(20, 60, len(fx))

    ax = np.concatenate([sx, fx])
    ay = np.concatenate([sy, fy])
    adir = np.concatenate([sdir, fdir])
    out_x, out_y = w.forward(ax, ay)
    out_dir = w.forward_directions(ax, ay, adir)
    total = len(ax)
    out_x = out_x + rng.normal(0, p.position_sigma, total)
    out_y = out_y + rng.normal(0, p.position_sigma, total)
    out_dir = out_dir + np.deg2rad(rng.normal(0, p.angle_sigma_deg, total))
    visible = (out_x >= 0) & (out_x < finger.width) & (out_y >= 0) & (out_y < finger.height)
    quality = np.clip(
        np.concatenate([squal, fqual]) + rng.normal(0, p.quality_sigma, total), 1, 100
    )
    origin = np.concatenate([source, np.full(len(fx), -1)])
    order = rng.permutation(int(visible.sum()))  # real extractors emit no meaningful order
    result = MinutiaSet.from_arrays(
        out_x[visible][order],
        out_y[visible][order],
        out_dir[visible][order],
        np.concatenate([skind, fkind])[visible][order],
        quality[visible][order].round().astype(np.uint8),
        width=finger.width,
        height=finger.height,
        resolution_dpi=finger.resolution_dpi,
        finger_position=finger.finger_position,
        image_quality=int(np.clip(finger.image_quality + rng.normal(0, 10), 1, 100)),
    )
    result.extras.update({"source": origin[visible][order], "warp": w})
    return result


def _points_in(
    rng: np.random.Generator, shape: FingerShape, count: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """`count` uniform points inside a footprint (rejection sampling, vectorised)."""
    if count == 0:
        return np.empty(0), np.empty(0)
    x = rng.uniform(shape.cx - shape.half_width, shape.cx + shape.half_width, 4 * count + 8)
    y = rng.uniform(shape.cy - shape.half_height, shape.cy + shape.half_height, 4 * count + 8)
    inside = shape.contains(x, y)
    return x[inside][:count], y[inside][:count]


def _bounding_shape(finger: MinutiaSet) -> FingerShape:
    """A footprint for masters that did not come from `master` (e.g. a decoded template)."""
    return FingerShape(
        cx=finger.width / 2,
        cy=finger.height / 2,
        half_width=finger.width / 2,
        half_height=finger.height / 2,
        top_exponent=8.0,
        bottom_exponent=8.0,
    )
