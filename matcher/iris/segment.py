"""Segmentation: specular reflections, pupil, limbus and eyelids, as pure steps over arrays.

Approach (Daugman's integro-differential operator, made cheap): coarse candidates come from
dark blobs (pupil) and the pupil's position (limbus); each is refined by searching circles
around the candidate for the largest Gaussian-smoothed radial derivative of the mean
intensity along the circle. The mean along the circle is computed for every (centre, radius)
candidate in one `cv2.remap` call. Specular reflections are filled before any search, the
pupil is located by its boundary (not by a uniform fill), and the limbus is searched only on
the lateral sectors that eyelids rarely cover. Eyelids are parabolas found by the same idea
on the vertical gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.iris.params import IrisParams
from matcher.iris.types import Circle, Eyelid, IrisSegmentationError, Segmentation

FloatImage = NDArray[np.float32]


@dataclass(frozen=True)
class Prepared:
    """The working-resolution image with reflections filled, and where they were."""

    image: NDArray[np.uint8]
    filled: FloatImage
    reflections: NDArray[np.bool_]
    scale: float


def prepare(img: NDArray[np.uint8], params: IrisParams) -> Prepared:
    """Resize to the working width and fill specular reflections from their surroundings."""
    h, w = img.shape
    scale = params.work_width / w
    work = img
    if abs(scale - 1.0) > 1e-3:
        size = (params.work_width, round(h * scale))
        work = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (13, 13))
    opened = cv2.morphologyEx(work, cv2.MORPH_OPEN, kernel)
    tophat = cv2.subtract(work, opened)
    spots = (tophat > params.reflection_tophat) & (work > params.reflection_min_level)
    spots = cv2.dilate(spots.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    filled = np.where(spots, opened, work).astype(np.float32)
    return Prepared(image=work, filled=filled, reflections=spots, scale=scale)


def _circle_profiles(
    img: FloatImage,
    cx: NDArray[np.float32],
    cy: NDArray[np.float32],
    radii: NDArray[np.float32],
    angles: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Mean intensity on every circle (centre i, radius j) over `angles`: shape (C, R)."""
    cos, sin = np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)
    mx = cx[:, None, None] + radii[None, :, None] * cos[None, None, :]
    my = cy[:, None, None] + radii[None, :, None] * sin[None, None, :]
    c, r, a = mx.shape
    samples = cv2.remap(
        img,
        mx.reshape(c * r, a).astype(np.float32, copy=False),
        my.reshape(c * r, a).astype(np.float32, copy=False),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return samples.reshape(c, r, a).mean(axis=2)


def _blur(img: FloatImage, sigma: float) -> FloatImage:
    return np.asarray(cv2.GaussianBlur(img, (0, 0), sigma), dtype=np.float32)


def _gaussian_1d(sigma: float) -> NDArray[np.float32]:
    half = max(1, math.ceil(3 * sigma))
    x = np.arange(-half, half + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return (k / k.sum()).astype(np.float32)


def _radial_edge(profiles: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Smoothed outward derivative d/dr of each profile (dark inside → positive)."""
    deriv = np.diff(profiles, axis=1)
    kernel = _gaussian_1d(sigma)
    out = cv2.filter2D(deriv, -1, kernel[None, :], borderType=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.float32)


def _offsets(half_width: float, step: float) -> NDArray[np.float32]:
    """Centre offsets k·step within ±half_width, symmetric about 0 (0 always included)."""
    k = int(half_width / step + 1e-6)
    return (np.arange(-k, k + 1, dtype=np.float32) * np.float32(step)).astype(np.float32)


def search_circle(
    img: FloatImage,
    centre: tuple[float, float],
    centre_range: float | tuple[float, float],
    centre_step: float,
    r_min: float,
    r_max: float,
    r_step: float,
    angles: NDArray[np.float32],
    sigma: float,
) -> tuple[Circle, float]:
    """Integro-differential search: the circle with the strongest dark-to-bright edge.

    `centre_range` is the half-width of the square of centres tried, or (x, y) half-widths.
    """
    rx, ry = centre_range if isinstance(centre_range, tuple) else (centre_range, centre_range)
    offs_x, offs_y = _offsets(rx, centre_step), _offsets(ry, centre_step)
    gx, gy = np.meshgrid(offs_x + centre[0], offs_y + centre[1])
    cx, cy = gx.ravel().astype(np.float32), gy.ravel().astype(np.float32)
    radii = np.arange(r_min, r_max + 1e-6, r_step, dtype=np.float32)
    if len(radii) < 4:
        raise IrisSegmentationError("the iris boundary search range is empty", code="iris_no_eye")
    edge = _radial_edge(_circle_profiles(img, cx, cy, radii, angles), sigma / r_step)
    # Ignore the first and last radii: the derivative there is one-sided.
    edge[:, :1] = -np.inf
    edge[:, -1:] = -np.inf
    i, j = np.unravel_index(int(np.argmax(edge)), edge.shape)
    r = float(radii[j] + r_step / 2)
    return Circle(float(cx[i]), float(cy[i]), r), float(edge[i, j])


def _angles(*sectors_deg: tuple[float, float], count: int = 64) -> NDArray[np.float32]:
    """Angles (radians, y down) spread evenly over the given sectors in degrees."""
    total = sum(b - a for a, b in sectors_deg)
    parts = []
    for a, b in sectors_deg:
        n = max(4, round(count * (b - a) / total))
        parts.append(np.radians(np.linspace(a, b, n, endpoint=False)))
    return np.concatenate(parts).astype(np.float32)


# The pupil edge is searched all round except the top (upper lid and lashes); the limbus only
# on the lateral sectors, slightly below horizontal, that eyelids rarely cover.
PUPIL_ANGLES = _angles((-50.0, 230.0), count=72)
LIMBUS_ANGLES = _angles((-35.0, 50.0), (130.0, 215.0), count=72)
PUPIL_ANGLES_COARSE = _angles((-50.0, 230.0), count=36)
LIMBUS_ANGLES_COARSE = _angles((-35.0, 50.0), (130.0, 215.0), count=36)


def pupil_candidates(filled: FloatImage, params: IrisParams) -> list[tuple[float, float, float]]:
    """Dark, round blobs of a plausible size at several darkness levels: (x, y, radius)."""
    w = filled.shape[1]
    # Blob finding runs at half resolution: a pupil is at least ~8 px across there.
    r_min, r_max = params.pupil_min_frac * w / 2, params.pupil_max_frac * w / 2
    small = cv2.resize(
        cv2.GaussianBlur(filled, (0, 0), 2.0), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA
    )
    values = np.sort(small.ravel())
    # A lash-removing opening sized to the smallest pupil keeps thin dark strokes out.
    k = max(3, int(r_min) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    found: list[tuple[float, float, float, float]] = []
    for frac in (0.005, 0.012, 0.025, 0.045, 0.07, 0.1):
        level = values[min(len(values) - 1, int(frac * len(values)))]
        dark = (small <= level).astype(np.uint8)
        dark = cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)
        n, _, stats, cents = cv2.connectedComponentsWithStats(dark, connectivity=8)
        for i in range(1, n):
            bw, bh, area = (int(v) for v in stats[i][2:])
            re = math.sqrt(area / math.pi)
            if not r_min * 0.7 <= re <= r_max * 1.1:
                continue
            side = max(bw, bh)
            fill = area / (math.pi * (side / 2) ** 2)
            aspect = min(bw, bh) / side
            if aspect < 0.5 or fill < 0.5:
                continue
            found.append(
                (2 * float(cents[i][0]) + 0.5, 2 * float(cents[i][1]) + 0.5, side, fill * aspect)
            )
    found.sort(key=lambda c: -c[3])
    unique: list[tuple[float, float, float]] = []
    for x, y, r, _ in found:
        if all(math.hypot(x - ux, y - uy) > 0.5 * ur for ux, uy, ur in unique):
            unique.append((x, y, r))
    return unique[:4]


def find_pupil(filled: FloatImage, params: IrisParams) -> Circle:
    """The pupil: best circular dark-to-bright edge among the dark-blob candidates."""
    w = filled.shape[1]
    r_lo, r_hi = params.pupil_min_frac * w, params.pupil_max_frac * w
    cands = pupil_candidates(filled, params)
    if not cands:
        raise IrisSegmentationError(
            "no pupil found: the image shows no dark round region (is it an eye, and open?)",
            code="iris_no_eye",
        )
    smooth = _blur(filled, 1.0)
    best: tuple[Circle, float] | None = None
    for x, y, r in cands:
        lo, hi = max(r_lo, r * 0.7), min(r_hi, r * 1.35 + 2)
        if hi - lo < 4:
            continue
        c, s = search_circle(
            smooth, (x, y), max(2.0, 0.15 * r), 2.0, lo, hi, 1.0, PUPIL_ANGLES_COARSE, 1.0
        )
        if best is None or s > best[1]:
            best = (c, s)
    if best is None:
        raise IrisSegmentationError(
            "no pupil found: no dark region has a plausible pupil size", code="iris_no_eye"
        )
    coarse = best[0]
    fine, strength = search_circle(
        smooth, (coarse.x, coarse.y), 1.5, 0.5, coarse.r - 3, coarse.r + 3, 0.5, PUPIL_ANGLES, 1.0
    )
    if strength < 4.0:
        raise IrisSegmentationError(
            "no pupil boundary found: the dark region has no sharp round edge",
            code="iris_no_eye",
        )
    return fine


def eyelid_over_pupil(filled: FloatImage, pupil: Circle) -> bool:
    """Whether the upper lid covers the pupil's top: the eye is mostly closed.

    The pupil was found by the part of its edge below the lid; where the top arc shows
    almost none of the dark-to-bright step the bottom arc shows, skin lies across it.
    """
    smooth = _blur(filled, 1.0)
    top = _angles((-150.0, -30.0), count=24)
    bottom = _angles((30.0, 150.0), count=24)
    cx = np.array([pupil.x], dtype=np.float32)
    cy = np.array([pupil.y], dtype=np.float32)
    radii = np.array([pupil.r * 0.7, pupil.r * 1.3], dtype=np.float32)
    step_top = np.diff(_circle_profiles(smooth, cx, cy, radii, top)[0])[0]
    step_bottom = np.diff(_circle_profiles(smooth, cx, cy, radii, bottom)[0])[0]
    return bool(step_top < 0.3 * step_bottom)


def _without_pupil(filled: FloatImage, pupil: Circle) -> FloatImage:
    """The image with the pupil painted in the iris's own level, so its strong edge cannot
    attract the limbus search when a candidate circle grazes it."""
    h, w = filled.shape
    yy, xx = np.ogrid[0:h, 0:w]
    d2 = (xx - pupil.x) ** 2 + (yy - pupil.y) ** 2
    ring = (d2 > (pupil.r * 1.25) ** 2) & (d2 < (pupil.r * 1.6) ** 2)
    level = float(np.median(filled[ring])) if ring.any() else float(filled.mean())
    out = filled.copy()
    out[d2 < (pupil.r * 1.2) ** 2] = level
    return out


def find_limbus(filled: FloatImage, pupil: Circle, params: IrisParams) -> Circle:
    """The limbus (iris/sclera boundary), searched on the lateral sectors around the pupil."""
    smooth = _blur(_without_pupil(filled, pupil), 1.5)
    r_min = max(pupil.r / params.ratio_max, pupil.r + 8)
    r_max = min(pupil.r / params.ratio_min, 0.5 * filled.shape[1])
    # Lateral arcs pin the centre's x and the radius well but its y only weakly, so the
    # vertical offset allowed is a fraction of the horizontal one (anatomy agrees: the
    # pupil sits mostly nasal of the iris centre).
    off = max(3.0, params.limbus_offset_frac * pupil.r)
    coarse, _ = search_circle(
        smooth,
        (pupil.x, pupil.y),
        (off, max(3.0, off * params.limbus_vertical_share)),
        2.0,
        r_min,
        r_max,
        2.0,
        LIMBUS_ANGLES_COARSE,
        2.0,
    )
    fine, strength = search_circle(
        smooth,
        (coarse.x, coarse.y),
        2.0,
        1.0,
        coarse.r - 5,
        coarse.r + 5,
        1.0,
        LIMBUS_ANGLES,
        2.0,
    )
    if strength < 1.0:
        raise IrisSegmentationError(
            "no iris boundary found around the pupil (eye closed, off-gaze or out of focus?)",
            code="iris_no_limbus",
        )
    return fine


def find_eyelid(
    grad_y: FloatImage, pupil: Circle, limbus: Circle, upper: bool, baseline: float
) -> Eyelid:
    """The eyelid margin as the parabola with the strongest vertical edge across the iris.

    Candidates are scored only where they cross the iris annulus, so the limbus's own edge
    and the pupil's do not attract them; a curve is accepted only if its edge is several
    times the annulus's typical gradient, otherwise the lid is "not found" (no occlusion).
    """
    h, w = grad_y.shape
    R = limbus.r
    xs = (limbus.x + np.linspace(-0.95, 0.95, 61, dtype=np.float32) * R).astype(np.float32)
    sign = 1.0 if upper else -1.0
    # y0 from just inside the pupil out to the limbus's top (bottom) tangent.
    y_near = pupil.y - sign * pupil.r * 0.3
    y_far = limbus.y - sign * R
    y0s = np.linspace(y_far, y_near, 48, dtype=np.float32)
    curv = np.linspace(0.0, 0.45 / R, 8, dtype=np.float32) * sign
    Y = y0s[:, None, None] + curv[None, :, None] * (xs[None, None, :] - limbus.x) ** 2
    X = np.broadcast_to(xs[None, None, :], Y.shape)
    dl = np.hypot(X - limbus.x, Y - limbus.y)
    dp = np.hypot(X - pupil.x, Y - pupil.y)
    inside = (dl < R * 0.92) & (dp > pupil.r * 1.3) & (Y >= 0) & (h - 1 >= Y)
    xi = np.clip(np.rint(X), 0, w - 1).astype(np.intp)
    yi = np.clip(np.rint(Y), 0, h - 1).astype(np.intp)
    vals = np.abs(grad_y[yi, xi]) * inside
    counts = inside.sum(axis=2)
    score = np.where(counts >= 12, vals.sum(axis=2) / np.maximum(counts, 1), 0.0)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    if score[i, j] < 2.5 * baseline:
        return Eyelid(limbus.x, float(y_far), 0.0, found=False)
    return Eyelid(limbus.x, float(y0s[i]), float(curv[j]), found=True)


def find_eyelids(filled: FloatImage, pupil: Circle, limbus: Circle) -> tuple[Eyelid, Eyelid]:
    """Upper and lower eyelids from the vertical gradient of a lash-smoothing blur."""
    grad_y = np.asarray(cv2.Sobel(_blur(filled, 2.5), cv2.CV_32F, 0, 1, ksize=3), np.float32)
    h, w = filled.shape
    yy, xx = np.mgrid[0:h:2, 0:w:2]
    d = np.hypot(xx - limbus.x, yy - limbus.y)
    ring = (d < limbus.r * 0.9) & (np.hypot(xx - pupil.x, yy - pupil.y) > pupil.r * 1.2)
    baseline = float(np.median(np.abs(grad_y[::2, ::2][ring]))) if ring.any() else 1.0
    baseline = max(baseline, 1.0)
    return (
        find_eyelid(grad_y, pupil, limbus, upper=True, baseline=baseline),
        find_eyelid(grad_y, pupil, limbus, upper=False, baseline=baseline),
    )


def eyelid_mask(shape: tuple[int, int], upper: Eyelid, lower: Eyelid) -> NDArray[np.bool_]:
    """True above the upper lid's margin and below the lower lid's."""
    h, w = shape
    xs = np.arange(w, dtype=np.float32)
    ys = np.arange(h, dtype=np.float32)[:, None]
    return (ys < upper.y_at(xs)[None, :]) | (ys > lower.y_at(xs)[None, :])


def segment(img: NDArray[np.uint8], params: IrisParams) -> tuple[Segmentation, Prepared]:
    """Find pupil, limbus, eyelids and the pixel noise mask of a decoded eye image."""
    prep = prepare(img, params)
    pupil = find_pupil(prep.filled, params)
    if eyelid_over_pupil(prep.filled, pupil):
        raise IrisSegmentationError(
            "the eyelid covers the pupil: the eye is mostly closed; ask to open it wide",
            code="iris_eye_closed",
        )
    limbus = find_limbus(prep.filled, pupil, params)
    if pupil.r / limbus.r > params.ratio_max or limbus.r < pupil.r + 5:
        raise IrisSegmentationError(
            "the iris ring around the pupil is too thin to encode", code="iris_no_limbus"
        )
    if limbus.r < params.min_iris_radius:
        raise IrisSegmentationError(
            f"the iris is too small ({2 * limbus.r / prep.scale:.0f} px across); "
            "move the camera closer",
            code="iris_too_small",
        )
    upper, lower = find_eyelids(prep.filled, pupil, limbus)
    noise = prep.reflections | eyelid_mask(prep.filled.shape, upper, lower)
    seg = Segmentation(
        pupil=pupil,
        limbus=limbus,
        upper_lid=upper,
        lower_lid=lower,
        noise=noise,
        width=prep.filled.shape[1],
        height=prep.filled.shape[0],
    )
    return seg, prep
