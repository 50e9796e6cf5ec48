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


def reflection_mask(work: NDArray[np.uint8], params: IrisParams) -> NDArray[np.bool_]:
    """Specular reflections: small, near-saturated spots much brighter than their surround.

    Glare saturates the sensor, so only spots near the image's own maximum count: the top-hat
    alone also fires on bright iris texture beside a black pupil.
    A white top-hat finds spots brighter than a disc opening of the image; only compact
    components are kept, because bright skin between eyelashes passes the top-hat too but
    forms large, ragged regions that are not glare and must not be repainted.
    """
    w = work.shape[1]
    k = max(5, round(params.reflection_kernel_frac * w) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    tophat = cv2.morphologyEx(work, cv2.MORPH_TOPHAT, kernel)
    level = max(params.reflection_min_level, params.reflection_relative * float(work.max()))
    spots = ((tophat > params.reflection_tophat) & (work >= level)).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(spots, connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    bw = stats[:, cv2.CC_STAT_WIDTH].astype(np.float64)
    bh = stats[:, cv2.CC_STAT_HEIGHT].astype(np.float64)
    # A round glint fills most of its bounding box; skin between lashes is ragged and long.
    compact = (area >= 0.5 * bw * bh) & (np.maximum(bw, bh) <= 2.0 * np.minimum(bw, bh))
    keep = (area <= (params.reflection_max_frac * w) ** 2) | (
        compact & (area <= (params.reflection_compact_frac * w) ** 2)
    )
    keep[0] = False
    small = keep[labels].astype(np.uint8)
    # Glare has a soft halo a couple of pixels wide around its saturated core.
    return cv2.dilate(small, np.ones((7, 7), np.uint8)).astype(bool)


def prepare(img: NDArray[np.uint8], params: IrisParams) -> Prepared:
    """Resize to the working width and inpaint specular reflections from their surroundings,
    so a glint inside the pupil cannot break its dark disc or pull a boundary onto itself."""
    h, w = img.shape
    scale = params.work_width / w
    work = img
    if abs(scale - 1.0) > 1e-3:
        size = (params.work_width, round(h * scale))
        work = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    spots = reflection_mask(work, params)
    if spots.mean() > params.reflection_max_share:
        raise IrisSegmentationError(
            "the image is mostly glare or noise, not an eye (is the lens covered or the light "
            "shining into it?)",
            code="iris_no_eye",
        )
    filled: NDArray[np.uint8] = work
    if spots.any():
        filled = np.asarray(
            cv2.inpaint(work, spots.astype(np.uint8), 3, cv2.INPAINT_TELEA), dtype=np.uint8
        )
    return Prepared(image=work, filled=filled.astype(np.float32), reflections=spots, scale=scale)


def _circle_samples(
    img: FloatImage,
    cx: NDArray[np.float32],
    cy: NDArray[np.float32],
    radii: NDArray[np.float32],
    angles: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Intensity on every circle (centre i, radius j) at `angles`: shape (C, R, A)."""
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
    return np.asarray(samples, dtype=np.float32).reshape(c, r, a)


def _circle_profiles(
    img: FloatImage,
    cx: NDArray[np.float32],
    cy: NDArray[np.float32],
    radii: NDArray[np.float32],
    angles: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Mean intensity on every circle (centre i, radius j) over `angles`: shape (C, R)."""
    return _circle_samples(img, cx, cy, radii, angles).mean(axis=2)


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
LOWER_ANGLES = _angles((0.0, 180.0), count=36)


def pupil_candidates(
    filled: FloatImage, params: IrisParams
) -> list[tuple[float, float, float, float]]:
    """Dark, uniform discs darker than their surround, best first: (x, y, radius, the
    largest radius its refinement may reach).

    A centre-surround detector over a range of radii: the score of a square of side ~1.7 r
    (a disc's area) is the mean of the ring of squares around it minus its own mean and a
    multiple of its own standard deviation, relative to the ring's brightness. The pupil
    (glints already inpainted) is the most uniform region of an eye and the darkest relative
    to its surround; the whole iris is as dark against the sclera in absolute grey levels but
    holds the pupil and its texture, so its deviation and its brighter surround rank it
    below; lashes are thin and their squares hold skin. Box filters keep every radius at the
    same cost (integral images).
    """
    w = filled.shape[1]
    small = cv2.resize(_blur(filled, 1.0), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    sq = small * small
    r_lo, r_hi = params.pupil_min_frac * w / 2, params.pupil_max_frac * w / 2
    radii = np.geomspace(r_lo, r_hi, params.pupil_scales).astype(np.float32)
    scores = []
    for r in radii:
        inner = max(3, round(1.7 * float(r)) | 1)
        gap = max(inner + 2, round(2.3 * float(r)) | 1)
        outer = max(gap + 2, round(3.2 * float(r)) | 1)
        m_in = cv2.boxFilter(small, -1, (inner, inner), borderType=cv2.BORDER_REPLICATE)
        m_sq = cv2.boxFilter(sq, -1, (inner, inner), borderType=cv2.BORDER_REPLICATE)
        m_gap = cv2.boxFilter(small, -1, (gap, gap), borderType=cv2.BORDER_REPLICATE)
        m_out = cv2.boxFilter(small, -1, (outer, outer), borderType=cv2.BORDER_REPLICATE)
        ring = (m_out * outer**2 - m_gap * gap**2) / float(outer**2 - gap**2)
        sd = np.sqrt(np.maximum(m_sq - m_in * m_in, 0.0))
        scores.append((ring - m_in - params.pupil_uniformity * sd) / (ring + 10.0))
    stack = np.stack(scores)
    best = stack.max(axis=0)
    which = stack.argmax(axis=0)
    # Centres too near the frame cannot hold a whole pupil.
    margin = max(2, int(r_lo))
    best[:margin], best[-margin:], best[:, :margin], best[:, -margin:] = (-np.inf,) * 4
    found: list[tuple[float, float, float, float]] = []
    r_max = params.pupil_max_frac * w
    for _ in range(params.pupil_candidates):
        y, x = np.unravel_index(int(np.argmax(best)), best.shape)
        if not np.isfinite(best[y, x]) or best[y, x] <= 0:
            break
        r = float(radii[which[y, x]])
        found.append((2.0 * x + 0.5, 2.0 * y + 0.5, 2.0 * r, r_max))
        nested = _nested_candidate(stack, radii, (int(x), int(y)), r, params)
        if nested is not None:
            found.append(nested)
        cv2.circle(best, (int(x), int(y)), max(2, round(1.5 * r)), -np.inf, -1)
    return found


def _nested_candidate(
    stack: NDArray[np.float32],
    radii: NDArray[np.float32],
    centre: tuple[int, int],
    r: float,
    params: IrisParams,
) -> tuple[float, float, float, float] | None:
    """The best smaller disc near the centre of a candidate, as a candidate of its own.

    A dark iris around a black pupil scores as one large dark disc, and suppressing the
    neighbourhood of that winner would also suppress the pupil inside it; the pupil is a
    disc at most `ratio_max` of the iris radius within about a third of a radius of its
    centre, so the best such disc is proposed too (its refinement kept below that size, or
    it would grow back to the iris) and `find_pupil` chooses between them.
    """
    small = np.flatnonzero(radii <= params.ratio_max * r)
    if not len(small):
        return None
    x, y = centre
    reach = max(1, round(0.35 * r))
    y0, x0 = max(0, y - reach), max(0, x - reach)
    window = stack[small, y0 : y + reach + 1, x0 : x + reach + 1]
    k, wy, wx = np.unravel_index(int(np.argmax(window)), window.shape)
    if not np.isfinite(window[k, wy, wx]) or window[k, wy, wx] <= 0:
        return None
    inner = 2.0 * float(radii[small[k]])
    if inner >= params.ratio_max * 2.0 * r:
        return None
    return (2.0 * (x0 + wx) + 0.5, 2.0 * (y0 + wy) + 0.5, inner, params.ratio_max * 2.0 * r)


def pupil_contrast(smooth: FloatImage, circle: Circle) -> float:
    """How pupil-like a circle is: (surround − inside − inside's deviation) / surround.

    The surround is the ring just outside the circle on the lower and lateral arcs (where the
    iris is rarely covered); a circle on part of a pupil, or on the whole iris, has a darker
    or brighter-but-textured surround and scores lower than the true pupil.
    """
    cx = np.array([circle.x], dtype=np.float32)
    cy = np.array([circle.y], dtype=np.float32)
    inner = np.linspace(0.1, 0.8, 5, dtype=np.float32) * circle.r
    outer = np.linspace(1.15, 1.45, 4, dtype=np.float32) * circle.r
    inside = _circle_samples(smooth, cx, cy, inner, PUPIL_ANGLES_COARSE).ravel()
    around = float(_circle_profiles(smooth, cx, cy, outer, PUPIL_ANGLES_COARSE).mean())
    return (around - float(inside.mean()) - float(inside.std())) / (around + 10.0)


def find_pupil(filled: FloatImage, params: IrisParams) -> Circle:
    """The pupil: every centre-surround candidate refined by the integro-differential search;
    the one with the best contrast² × edge strength × r^¼ / (grey level inside + offset)
    wins. Contrast alone ties a circle on a glint-split part of a pupil with the whole pupil,
    edge alone prefers the iris/sclera edge of a dark iris, and both favour a small dark gap
    between lashes, whose short edge is crisp, over a large pupil whose long edge is softened
    by glints and lash shadows; the weak size term (longer edges are less likely by chance)
    and the darkness term (the pupil is the darkest place of an eye, a gap between lashes
    shows grey skin) settle that last case."""
    w = filled.shape[1]
    r_lo, r_hi = params.pupil_min_frac * w, params.pupil_max_frac * w
    cands = pupil_candidates(filled, params)
    if not cands:
        raise IrisSegmentationError(
            "no pupil found: the image shows no dark round region (is it an eye, and open?)",
            code="iris_no_eye",
        )
    smooth = _blur(filled, 1.0)
    found: list[tuple[float, Circle]] = []  # (score, circle)
    for x, y, r, r_cap in cands:
        lo, hi = max(r_lo, r * 0.6), min(r_hi, r * 2.0 + 2, r_cap)
        if hi - lo < 4:
            continue
        step = max(1.0, 0.1 * r)
        coarse, _ = search_circle(
            smooth, (x, y), 0.5 * r, step, lo, hi, step / 2, PUPIL_ANGLES_COARSE, 1.0
        )
        fine, strength = search_circle(
            smooth,
            (coarse.x, coarse.y),
            1.5,
            0.5,
            max(r_lo, coarse.r - 3),
            min(coarse.r + 3, r_cap),
            0.5,
            PUPIL_ANGLES,
            1.0,
        )
        if strength < params.pupil_min_edge:
            continue
        contrast = pupil_contrast(smooth, fine)
        if contrast < params.pupil_min_contrast:
            continue
        darkness = 1.0 / (_disc_mean(smooth, fine) + params.pupil_dark_offset)
        found.append((contrast**2 * strength * fine.r**0.25 * darkness, fine))
    if not found:
        raise IrisSegmentationError(
            "no pupil boundary found: no dark region has a sharp round edge (is the eye open "
            "and in focus?)",
            code="iris_no_eye",
        )
    found.sort(key=lambda f: -f[0])
    best = found[0][1]
    # A much darker disc inside the winner means the winner is the iris around the pupil (a
    # dark iris against bright sclera scores as well as its pupil); a piece of the same pupil
    # split off by a glint is no darker than the whole and does not count.
    level = _disc_mean(smooth, best)
    for _, circle in found[1:]:
        inside = math.hypot(circle.x - best.x, circle.y - best.y) + circle.r < best.r
        plausible = circle.r <= params.ratio_max * best.r
        if inside and plausible and _clearly_darker(_disc_mean(smooth, circle), level, params):
            best, level = circle, _disc_mean(smooth, circle)
            break
    else:
        best, level = _shrunk(smooth, best, level, params)
    return _grown(smooth, best, level, params)


def _shrunk(
    smooth: FloatImage, pupil: Circle, level: float, params: IrisParams
) -> tuple[Circle, float]:
    """The pupil inside the winner when no candidate proposed it: the circle with the
    strongest edge well inside the winner, if its disc is clearly darker than the winner's
    (the winner was then the iris of a dark eye)."""
    r_lo = params.pupil_min_frac * smooth.shape[1]
    r_hi = params.ratio_max * pupil.r
    if r_hi - r_lo < 4:
        return pupil, level
    inner, strength = search_circle(
        smooth,
        (pupil.x, pupil.y),
        0.3 * pupil.r,
        max(1.0, 0.05 * pupil.r),
        r_lo,
        r_hi,
        0.5,
        PUPIL_ANGLES_COARSE,
        1.0,
    )
    if strength < params.pupil_min_edge:
        return pupil, level
    darker = _disc_mean(smooth, inner)
    if not _clearly_darker(darker, level, params):
        return pupil, level
    return inner, darker


def _clearly_darker(inner: float, outer: float, params: IrisParams) -> bool:
    """Whether a disc is darker than another by more than one pupil's own spread."""
    return inner < params.pupil_nested_dark * outer and outer - inner > params.pupil_nested_margin


def _grown(smooth: FloatImage, pupil: Circle, level: float, params: IrisParams) -> Circle:
    """The whole pupil when the winner is only a piece of it.

    A glint, or its inpainting, can split a pupil so that a smaller disc inside it has the
    crisper edge. The larger circle with the strongest edge around the winner is the whole
    pupil when what it adds is as dark as the winner (were it the iris, the ring added would
    be iris texture, clearly brighter), and its edge is comparably strong.
    """
    r_hi = min(params.pupil_max_frac * smooth.shape[1], 2.5 * pupil.r)
    if r_hi < pupil.r * 1.25 + 4:
        return pupil
    _, own = search_circle(
        smooth, (pupil.x, pupil.y), 0.0, 1.0, pupil.r - 2, pupil.r + 2, 0.5, PUPIL_ANGLES, 1.0
    )
    grown, strength = search_circle(
        smooth,
        (pupil.x, pupil.y),
        0.6 * pupil.r,
        max(1.0, 0.1 * pupil.r),
        pupil.r * 1.25,
        r_hi,
        0.5,
        PUPIL_ANGLES,
        1.0,
    )
    # Mostly around the winner: a piece fitted below a lid may poke out of the whole a little.
    if math.hypot(grown.x - pupil.x, grown.y - pupil.y) + pupil.r > grown.r + 0.1 * pupil.r:
        return pupil
    if strength < max(params.pupil_min_edge, 0.7 * own):
        return pupil
    cx = np.array([grown.x], dtype=np.float32)
    cy = np.array([grown.y], dtype=np.float32)
    radii = np.array([0.55, 0.7, 0.85], dtype=np.float32) * grown.r
    # The lower half only: above, a lid may cross the whole pupil and brighten the ring.
    angles = LOWER_ANGLES
    samples = _circle_samples(smooth, cx, cy, radii, angles)[0]
    px = grown.x + radii[:, None] * np.cos(angles)[None, :]
    py = grown.y + radii[:, None] * np.sin(angles)[None, :]
    added = np.hypot(px - pupil.x, py - pupil.y) > pupil.r * 1.1
    if added.sum() < 3:
        return pupil
    ring = float(np.median(samples[added]))
    return pupil if _clearly_darker(level, ring, params) else grown


def _disc_mean(smooth: FloatImage, circle: Circle) -> float:
    """Mean grey level inside 80 % of a circle (sampled on rings)."""
    cx = np.array([circle.x], dtype=np.float32)
    cy = np.array([circle.y], dtype=np.float32)
    radii = np.linspace(0.0, 0.8, 5, dtype=np.float32) * circle.r
    return float(_circle_samples(smooth, cx, cy, radii, PUPIL_ANGLES_COARSE).mean())


def eyelid_over_pupil(filled: FloatImage, pupil: Circle) -> bool:
    """Whether the upper lid covers the pupil's top: the eye is mostly closed.

    The pupil was found by the part of its edge below the lid. Skin across its top shows two
    ways: the top arc has almost none of the dark-to-bright step the bottom arc has, or the
    inside of the circle's top is not pupil-dark (the circle fitted to the visible bottom
    reaches up into the lid: measured 1.2-1.6 bottom steps brighter on occluded synthetic
    eyes, at most 0.35 on open real ones, whose lashes darken the top arc instead).
    """
    smooth = _blur(filled, 1.0)
    top = _angles((-150.0, -30.0), count=24)
    bottom = _angles((30.0, 150.0), count=24)
    cx = np.array([pupil.x], dtype=np.float32)
    cy = np.array([pupil.y], dtype=np.float32)
    radii = np.array([pupil.r * 0.6, pupil.r * 0.8, pupil.r * 1.15], dtype=np.float32)
    on_top = _circle_samples(smooth, cx, cy, radii, top)[0]
    on_bottom = _circle_samples(smooth, cx, cy, radii, bottom)[0]
    step_top = float(np.mean(on_top[2] - on_top[1]))
    step_bottom = float(np.mean(on_bottom[2] - on_bottom[1]))
    typical_step = float(np.median(on_bottom[2] - on_bottom[1]))
    if step_bottom <= 0 or typical_step <= 0:
        return False
    inside_top = float(np.median(on_top[:2]))
    inside_bottom = float(np.median(on_bottom[:2]))
    return step_top < 0.1 * step_bottom or inside_top - inside_bottom > 0.7 * typical_step


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
    # An iris below `min_iris_radius` is refused anyway, so the search never looks there: a
    # texture ring just outside a small pupil would otherwise win.
    r_min = max(pupil.r / params.ratio_max, pupil.r + 8, params.min_iris_radius)
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
        params.limbus_sigma,
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
    # y0 from the limbus's top (bottom) tangent in to just inside the pupil for the upper lid
    # (a drooping lid may cover the pupil's top) and to the pupil's bottom for the lower one
    # (a lower lid over the pupil is a closed eye, and the pupil's own edge would fit it).
    y_near = pupil.y - pupil.r * 0.3 if upper else pupil.y + pupil.r
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
    # The lower lid's margin darkens upwards (iris above, skin below); texture edges inside
    # the iris run both ways, so only the lid's own sign counts for it. The upper margin
    # mixes bright skin and dark lashes, so both signs count there.
    edge = grad_y[yi, xi] if not upper else np.abs(grad_y[yi, xi])
    vals = np.maximum(edge, 0.0) * inside
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
