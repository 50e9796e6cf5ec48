"""SFinGe-style master fingerprints: ridges grown by iterative Gabor filtering from seeds.

Starting from an image holding only a few hundred random dots, every iteration filters each
pixel with an even-symmetric Gabor filter tuned to the local ridge orientation and period and
squashes the result back into [−1, 1]. Dots grow into ridge segments along the flow; fronts
meet and settle into parallel ridges; where the flow's geometry forces the ridge count to
change, endings and bifurcations appear by themselves, as on real fingers.

Speed: a per-pixel filter is far too slow in Python, so the field is quantised into
orientation bins and two period levels; the whole image is filtered once per bin with OpenCV
`filter2D` and each pixel takes the response of its own bin, blended linearly between the
two periods. Growth runs at half resolution (a quarter of the pixels) and a few iterations at
full resolution then sharpen the ridges.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.types import MinutiaKind, MinutiaSet
from matcher.synthetic.minutiae import DEFAULT_HEIGHT, DEFAULT_WIDTH, rng_for
from matcher.synthetic.orientation import (
    FingerprintClass,
    FingerShape,
    OrientationModel,
    ridge_period_map,
    sample_orientation_model,
    sample_shape,
)
from matcher.synthetic.skeleton import skeleton_minutiae, thin

FloatImage = NDArray[np.float32]


@dataclass(frozen=True)
class RidgeParams:
    """Growth settings; defaults were chosen by timing and by eye on a few dozen masters."""

    # 16 bins keep the worst orientation error at 5.6°, invisible in the ridges.
    orientation_bins: int = 16
    # Seeds per 10,000 px² of footprint: dense enough that 12 half-resolution iterations fill
    # every footprint (at 4 some patches were still blank), sparse enough to leave 35–65
    # minutiae per master.
    seed_density: float = 16.0
    coarse_iterations: int = 12
    # One full-resolution pass removes the half-resolution jaggies for about 60 ms.
    fine_iterations: int = 1
    # Gaussian envelope relative to the period: narrow enough to follow curvature.
    sigma_per_period: float = 0.5
    gain: float = 2.5
    # Minutiae closer than this (px) are skeleton artefacts (tiny spurs, islands, holes).
    min_minutia_distance: float = 6.0
    # Truth excludes the rim of the footprint, where ridges are cut, not ended.
    border_margin: float = 10.0


@dataclass(frozen=True)
class MasterFingerprint:
    """A master: ridge image in [−1, 1] (ridges > 0), footprint, and ground-truth minutiae."""

    ridges: FloatImage
    mask: NDArray[np.bool_]
    minutiae: MinutiaSet
    model: OrientationModel
    shape: FingerShape
    seed: int

    def render(self) -> NDArray[np.uint8]:
        """The master as an 8-bit image: dark ridges on a light background, white outside."""
        value = 128 - 110 * np.clip(self.ridges, -1, 1)
        return np.where(self.mask, value, 255).astype(np.uint8)


def gabor_kernel(orientation: float, period: float, sigma: float) -> FloatImage:
    """Even-symmetric, zero-mean Gabor kernel across ridges of `orientation` (ISO angle).

    Normalised to respond with 1 to a unit cosine of the tuned period and orientation.
    """
    radius = int(np.ceil(2.5 * sigma))
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    normal = orientation + np.pi / 2
    # Pixel y points down, so the normal's unit vector is (cos n, −sin n).
    across = xx * np.cos(normal) - yy * np.sin(normal)
    envelope = np.exp(-(xx**2 + yy**2) / (2 * sigma**2))
    wave = np.cos(2 * np.pi * across / period)
    kernel = envelope * wave
    kernel -= envelope * (kernel.sum() / envelope.sum())
    kernel /= (kernel * wave).sum()
    return kernel.astype(np.float32)


@lru_cache(maxsize=512)
def _cached_kernel(bin_index: int, bins: int, period: float, sigma: float) -> FloatImage:
    return gabor_kernel(bin_index * np.pi / bins, period, sigma)


@dataclass(frozen=True)
class _Bank:
    """Per orientation bin: the flat indices of its pixels and their period blend weights."""

    pixels: tuple[NDArray[np.intp], ...]
    weights: tuple[FloatImage, ...]
    periods: tuple[float, float]

    @classmethod
    def build(
        cls, bins: NDArray[np.intp], weight: FloatImage, periods: tuple[float, float], count: int
    ) -> _Bank:
        flat_bins = bins.ravel()
        order = np.argsort(flat_bins, kind="stable")
        bounds = np.searchsorted(flat_bins[order], np.arange(count + 1))
        pixels = tuple(order[bounds[b] : bounds[b + 1]] for b in range(count))
        flat_weight = weight.ravel()
        return cls(pixels, tuple(flat_weight[p] for p in pixels), periods)

    def apply(self, image: FloatImage, params: RidgeParams) -> FloatImage:
        """Each pixel filtered by its orientation bin, blended between the two period levels."""
        out = np.zeros(image.size, dtype=np.float32)
        nb = params.orientation_bins
        lo_p, hi_p = (round(p, 2) for p in self.periods)
        for b, (pixels, weight) in enumerate(zip(self.pixels, self.weights, strict=True)):
            if len(pixels) == 0:
                continue
            lo = cv2.filter2D(
                image, -1, _cached_kernel(b, nb, lo_p, round(params.sigma_per_period * lo_p, 2))
            ).ravel()[pixels]
            hi = cv2.filter2D(
                image, -1, _cached_kernel(b, nb, hi_p, round(params.sigma_per_period * hi_p, 2))
            ).ravel()[pixels]
            out[pixels] = lo + weight * (hi - lo)
        return out.reshape(image.shape)


def grow_ridges(
    theta: NDArray[np.float64],
    period: NDArray[np.float64],
    mask: NDArray[np.bool_],
    rng: np.random.Generator,
    params: RidgeParams | None = None,
) -> FloatImage:
    """Grow a ridge pattern following `theta` (ISO, [0, π)) and `period` (px) inside `mask`."""
    p = params or RidgeParams()
    h, w = theta.shape
    bins = np.rint(theta / np.pi * p.orientation_bins).astype(np.intp) % p.orientation_bins
    lo, hi = float(period[mask].min()), float(period[mask].max())
    weight = np.clip((period - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)

    # Coarse stage at half resolution: the period halves, so kernels shrink fourfold.
    small = (w // 2, h // 2)
    sbins = cv2.resize(bins.astype(np.float32), small, interpolation=cv2.INTER_NEAREST).astype(
        np.intp
    )
    sweight = np.asarray(cv2.resize(weight, small, interpolation=cv2.INTER_LINEAR), np.float32)
    smask = cv2.resize(mask.astype(np.uint8), small, interpolation=cv2.INTER_NEAREST) > 0
    coarse = _Bank.build(sbins, sweight, (lo / 2, hi / 2), p.orientation_bins)
    grown = np.zeros((small[1], small[0]), dtype=np.float32)
    seeds = int(p.seed_density * mask.sum() / 10_000)
    ys, xs = np.nonzero(smask)
    pick = rng.choice(len(ys), size=min(seeds, len(ys)), replace=False)
    grown[ys[pick], xs[pick]] = rng.choice([-1.0, 1.0], size=len(pick)).astype(np.float32)
    for _ in range(p.coarse_iterations):
        grown = coarse.apply(grown, p)
        grown = np.clip(p.gain * grown, -1, 1) * smask
    # Fine stage: sharpen at full resolution, still following the field.
    image = np.asarray(cv2.resize(grown, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    fine = _Bank.build(bins, weight, (lo, hi), p.orientation_bins)
    for _ in range(p.fine_iterations):
        image = fine.apply(image, p)
        image = np.clip(p.gain * image, -1, 1) * mask
    return image.astype(np.float32)


def master_fingerprint(
    seed: int,
    *,
    width: int = DEFAULT_WIDTH,
    height: int = DEFAULT_HEIGHT,
    kind: FingerprintClass | None = None,
    finger_position: int = 0,
    params: RidgeParams | None = None,
) -> MasterFingerprint:
    """A master fingerprint image with its ground-truth minutiae, deterministic by `seed`."""
    p = params or RidgeParams()
    rng = rng_for(seed, 0x1AA6E)
    shape = sample_shape(rng, width, height)
    model = sample_orientation_model(rng, shape, kind)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    theta = model.orientation(xx, yy)
    period = ridge_period_map(rng, model, xx, yy)
    mask = shape.mask(width, height)
    ridges = grow_ridges(theta, period, mask, rng, p)
    minutiae = truth_minutiae(ridges, shape, p, flow=theta, finger_position=finger_position)
    minutiae.extras.update({"seed": int(seed), "class": model.kind.value, "model": model})
    minutiae.extras["shape"] = shape
    return MasterFingerprint(ridges, mask, minutiae, model, shape, int(seed))


def truth_minutiae(
    ridges: FloatImage,
    shape: FingerShape,
    params: RidgeParams,
    *,
    flow: NDArray[np.float64] | None = None,
    finger_position: int = 0,
) -> MinutiaSet:
    """Endings and bifurcations of the ridge skeleton, minus artefacts and the rim.

    Directions take their axis from the flow, their sense from the traced branches, checked
    against the grey-level profile (see `_profile_agrees`).
    """
    h, w = ridges.shape
    binary = cv2.medianBlur((ridges > 0).astype(np.uint8) * 255, 3) > 0
    skeleton = thin(binary)
    valid = shape.mask(w, h, margin=params.border_margin)
    x, y, direction, kind = skeleton_minutiae(skeleton, valid, flow)
    keep = _isolated(x, y, params.min_minutia_distance)
    direction = np.where(
        _profile_agrees(ridges, x, y, direction, kind),
        direction,
        np.mod(direction + np.pi, 2 * np.pi),
    )
    return MinutiaSet.from_arrays(
        x[keep],
        y[keep],
        direction[keep],
        kind[keep],
        np.full(int(keep.sum()), 100),
        width=w,
        height=h,
        finger_position=finger_position,
        image_quality=100,
    )


def _profile_agrees(
    ridges: FloatImage,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    direction: NDArray[np.float64],
    kind: NDArray[np.uint8],
) -> NDArray[np.bool_]:
    """True where the ridge profile along a minutia's direction confirms its sense.

    Ahead of an ending lies its ridge and behind it the valley; ahead of a bifurcation lies the
    valley between its branches and behind it the stem. Where the profile says otherwise the
    skeleton met a bridge or a crossover, whose traced "stem" is unreliable (about 9% of
    bifurcations); there the profile decides, as it does for an extractor looking at pixels.
    """
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    h, w = ridges.shape
    steps = np.arange(4, 10, dtype=np.float64)[None, :]
    dx = np.cos(direction)[:, None] * steps
    dy = -np.sin(direction)[:, None] * steps

    def mean_along(sign: float) -> NDArray[np.float64]:
        cols = np.clip(np.rint(x[:, None] + sign * dx).astype(np.intp), 0, w - 1)
        rows = np.clip(np.rint(y[:, None] + sign * dy).astype(np.intp), 0, h - 1)
        return np.asarray(ridges[rows, cols].mean(axis=1), dtype=np.float64)

    ahead, behind = mean_along(1.0), mean_along(-1.0)
    return np.where(kind == MinutiaKind.ENDING, ahead > behind, ahead < behind)


def _isolated(x: NDArray[np.float64], y: NDArray[np.float64], distance: float) -> NDArray[np.bool_]:
    """Drop every minutia that has another within `distance` (both of a close pair go)."""
    if len(x) == 0:
        return np.zeros(0, dtype=bool)
    d2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    np.fill_diagonal(d2, np.inf)
    return np.asarray(d2.min(axis=1) >= distance**2)
