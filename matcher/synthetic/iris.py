"""Synthetic near-infrared eye images with ground truth, deterministic by seed.

An eye (identity, `eye_seed`) owns an iris texture drawn in the normalised (ρ, θ) frame —
radial fibres, crypts, a collarette and contraction furrows — plus its size and grey levels.
A capture (`capture_seed`) places that eye in a frame: pupil dilation (the texture stretches
linearly between pupil and limbus, Daugman's rubber-sheet assumption), head tilt (rotation),
position, a slightly off-centre pupil, a gaze off the camera's axis, eyelids, eyelashes
hanging over the iris (and, when asked, rising from the lower lid), specular reflections
(also inside the pupil, several when asked, and as large as a close-up camera's glint), a
pupil that is dark but not uniform, a dark iris barely lighter than its pupil, defocus and
sensor noise. `FAILURE_CAUSES` holds
one setting per cause of failure on real captures at a moderate strength, `OCCLUDED` an eye
too closed to encode. The truth (circles, lid parabolas, the visible share of the iris,
rotation) comes back with the image so tests can check segmentation, occlusion and the shift
found by comparison.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

TEX_R, TEX_A = 64, 512  # texture resolution in the normalised frame
_EYE_SALT = 0x1715
_CAPTURE_SALT = 0xCA75


@dataclass(frozen=True)
class EyeCapture:
    """A rendered eye image and where everything truly is."""

    image: NDArray[np.uint8]
    pupil: tuple[float, float, float]  # x, y, r
    limbus: tuple[float, float, float]
    rotation_deg: float  # texture rotation, counter-clockwise on screen (y down: −θ)
    upper_lid_y: float  # lid margin height at the iris centre's x
    # Lid margins as parabolas y = y0 + a·(x − x0)² (x0, y0, a), and the share of the iris
    # annulus (pupil to limbus) the lids leave visible: the occlusion ground truth.
    upper_lid: tuple[float, float, float] = (0.0, 0.0, 0.0)
    lower_lid: tuple[float, float, float] = (0.0, 0.0, 0.0)
    visible_fraction: float = 1.0


@dataclass(frozen=True)
class CaptureSettings:
    width: int = 320
    height: int = 280
    dilation: tuple[float, float] = (0.3, 0.55)  # pupil / iris radius
    max_rotation_deg: float = 8.0
    upper_lid: tuple[float, float] = (0.45, 0.85)  # margin height above centre, in iris radii
    lower_lid: tuple[float, float] = (0.75, 1.1)
    lashes: int = 60
    reflections: int = 2
    blur_sigma: tuple[float, float] = (0.5, 1.0)
    noise_sigma: float = 3.0
    # Largest horizontal offset of the pupil centre from the limbus centre, in iris radii.
    pupil_offset: float = 0.06
    # Extra glints inside the pupil (the illuminator's LEDs), beyond the first reflection.
    pupil_glints: int = 0
    # Lashes growing up from the lower lid over the bottom of the iris.
    lower_lashes: int = 0
    # Grey levels taken off the iris (a dark brown iris is barely lighter than its pupil).
    iris_darkening: float = 0.0
    # Radius range (px) of the first reflection, the illuminator's glint on or in the pupil.
    glint_radius: tuple[int, int] = (3, 6)
    # Gaze away from the camera, in degrees about the vertical axis: the eye is foreshortened
    # horizontally by the angle's cosine (pupil and limbus become upright ellipses).
    off_angle_deg: float = 0.0


# Each cause of failure on real captures, at a moderate strength the segmentation must
# survive (boundaries within ~2 px), plus an eye too occluded to encode (it must be refused).
FAILURE_CAUSES: dict[str, CaptureSettings] = {
    "pupil_glints": CaptureSettings(reflections=3, pupil_glints=3),
    "lashes": CaptureSettings(lashes=160, lower_lashes=40),
    "eyelids": CaptureSettings(upper_lid=(0.35, 0.45), lower_lid=(0.65, 0.75)),
    "off_centre": CaptureSettings(pupil_offset=0.08),
    "defocus": CaptureSettings(blur_sigma=(1.6, 2.0)),
    "dark_iris": CaptureSettings(iris_darkening=35.0),
    "large_glint": CaptureSettings(glint_radius=(8, 11)),
}
OCCLUDED = CaptureSettings(upper_lid=(0.1, 0.15), lower_lid=(0.6, 0.65))


def _smooth_noise(
    rng: np.random.Generator, shape: tuple[int, int], sr: float, sa: float
) -> NDArray[np.float32]:
    """Unit-variance noise smoothed by σ = (sr, sa) pixels, wrapping along the angle axis."""
    pad = int(3 * sa) + 1
    raw = rng.standard_normal((shape[0], shape[1] + 2 * pad)).astype(np.float32)
    raw[:, :pad] = raw[:, shape[1] : shape[1] + pad]
    raw[:, -pad:] = raw[:, pad : 2 * pad]
    out = np.asarray(cv2.GaussianBlur(raw, (0, 0), sigmaX=sa, sigmaY=sr), np.float32)
    out = out[:, pad:-pad]
    return (out / max(float(out.std()), 1e-6)).astype(np.float32)


def iris_texture(eye_seed: int) -> NDArray[np.float32]:
    """The eye's texture in the normalised frame (TEX_R × TEX_A), zero mean, ~unit contrast."""
    rng = np.random.default_rng([_EYE_SALT, eye_seed])
    rho = (np.arange(TEX_R, dtype=np.float32) + 0.5) / TEX_R
    theta = np.arange(TEX_A, dtype=np.float32) * (2 * np.pi / TEX_A)
    # Radial fibres: long along ρ, narrow along θ.
    tex = 0.9 * _smooth_noise(rng, (TEX_R, TEX_A), 6.0, 1.6)
    tex += 0.5 * _smooth_noise(rng, (TEX_R, TEX_A), 2.0, 4.0)
    # Collarette: a wavy ring a third of the way out, brighter inside it.
    wave = 0.3 + 0.05 * _smooth_noise(rng, (1, TEX_A), 1.0, 12.0)[0]
    tex += 0.8 * np.tanh((wave[None, :] - rho[:, None]) * 25.0)
    # Crypts: dark lens-shaped pits scattered mostly near the collarette.
    rr, aa = np.meshgrid(rho, theta, indexing="ij")
    for _ in range(int(rng.integers(10, 25))):
        r0 = float(np.clip(rng.normal(0.4, 0.15), 0.1, 0.9))
        a0 = float(rng.uniform(0, 2 * np.pi))
        da = np.angle(np.exp(1j * (aa - a0)))
        size_r, size_a = rng.uniform(0.03, 0.08), rng.uniform(0.04, 0.12)
        tex -= rng.uniform(1.0, 2.5) * np.exp(
            -(((rr - r0) / size_r) ** 2) - (da / size_a) ** 2
        ).astype(np.float32)
    # Contraction furrows: concentric dark arcs in the outer iris.
    for _ in range(int(rng.integers(2, 5))):
        r0 = rng.uniform(0.55, 0.9)
        span = _smooth_noise(rng, (1, TEX_A), 1.0, 20.0)[0] > 0.3
        tex -= 0.8 * span[None, :] * np.exp(-(((rho[:, None] - r0) / 0.02) ** 2))
    tex -= tex.mean()
    return (tex / tex.std()).astype(np.float32)


def _eye_constants(eye_seed: int) -> tuple[float, float, float]:
    """Per-eye iris radius fraction (of frame height), iris grey level and contrast."""
    rng = np.random.default_rng([_EYE_SALT, eye_seed, 1])
    return float(rng.uniform(0.34, 0.4)), float(rng.uniform(105, 140)), float(rng.uniform(14, 22))


def render_eye(
    eye_seed: int, capture_seed: int, settings: CaptureSettings | None = None
) -> EyeCapture:
    """One capture of one eye as an 8-bit NIR-like image."""
    s = settings or CaptureSettings()
    rng = np.random.default_rng([_CAPTURE_SALT, eye_seed, capture_seed])
    radius_frac, iris_level, contrast = _eye_constants(eye_seed)
    iris_level -= s.iris_darkening
    h, w = s.height, s.width
    r_l = radius_frac * h
    cx = w / 2 + rng.uniform(-0.08, 0.08) * w
    cy = h / 2 + rng.uniform(-0.05, 0.05) * h
    r_p = r_l * rng.uniform(*s.dilation)
    # The pupil sits slightly nasal/inferior of the limbus centre.
    px = cx + rng.uniform(-s.pupil_offset, s.pupil_offset) * r_l
    py = cy + rng.uniform(0.0, 0.05) * r_l
    rotation = rng.uniform(-s.max_rotation_deg, s.max_rotation_deg)

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = xx - px, yy - py
    d = np.hypot(dx, dy)
    theta = np.arctan2(dy, dx)
    # Distance from the pupil centre to the limbus circle along each ray.
    ox, oy = px - cx, py - cy
    b = ox * np.cos(theta) + oy * np.sin(theta)
    limb = -b + np.sqrt(np.maximum(b * b - (ox * ox + oy * oy - r_l * r_l), 0.0))
    rho = (d - r_p) / np.maximum(limb - r_p, 1e-3)
    tex = iris_texture(eye_seed)
    tex_wrapped = np.concatenate([tex, tex[:, :1]], axis=1)
    ang = np.mod(theta - math.radians(rotation), 2 * np.pi) * (TEX_A / (2 * np.pi))
    sample = cv2.remap(
        tex_wrapped,
        ang.astype(np.float32),
        np.clip(rho * TEX_R - 0.5, 0, TEX_R - 1).astype(np.float32),
        cv2.INTER_LINEAR,
    )
    # Sclera and skin, then the iris (darker towards the limbus), then the pupil.
    img = np.full((h, w), rng.uniform(185, 215), dtype=np.float32)
    img += 6.0 * _smooth_noise(rng, (h, w), 8.0, 8.0)
    iris = (rho >= 0) & (rho <= 1)
    shade = iris_level - 20.0 * np.clip(rho, 0, 1) ** 2
    img[iris] = (shade + contrast * sample)[iris]
    # A soft limbus (a few pixels of transition) as in real eyes.
    edge = np.clip((rho - 1.0) * (r_l / 3.0), 0, 1)
    ring = (rho > 1) & (rho < 1 + 6 / r_l)
    img[ring] = ((1 - edge) * (shade + contrast * sample) + edge * img)[ring]
    pupil = d < r_p
    pupil_level = rng.uniform(18, 40)
    img[pupil] = (pupil_level + 6.0 * _smooth_noise(rng, (h, w), 6.0, 6.0) + 0.05 * (yy - py))[
        pupil
    ]

    # Eyelids: parabolas through the margin height at the iris centre's x.
    up = cy - r_l * rng.uniform(*s.upper_lid)
    lo = cy + r_l * rng.uniform(*s.lower_lid)
    a_up, a_lo = rng.uniform(0.6, 1.2) / w, rng.uniform(0.4, 1.0) / w
    skin = rng.uniform(165, 200)
    upper_y = up + a_up * (xx - cx) ** 2
    lower_y = lo - a_lo * (xx - cx) ** 2
    lid = (yy < upper_y) | (yy > lower_y)
    img[lid] = (skin + 8.0 * _smooth_noise(rng, (h, w), 4.0, 4.0))[lid]
    # Eyelashes: dark curved strokes from the upper lid margin downwards.
    canvas = img.copy()
    for _ in range(s.lashes):
        x0 = cx + rng.uniform(-1.3, 1.3) * r_l
        y0 = up + a_up * (x0 - cx) ** 2
        length = rng.uniform(0.2, 0.55) * r_l
        tilt = rng.uniform(-0.5, 0.5) + (x0 - cx) / (3 * r_l)
        t = np.linspace(0, 1, 8)
        xs = x0 + np.sin(tilt) * length * t
        ys = y0 - 0.15 * length + np.cos(tilt) * length * t - 0.25 * length * t**2
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(canvas, [pts], False, float(rng.uniform(30, 70)), 1, cv2.LINE_AA)
    for _ in range(s.lower_lashes):
        x0 = cx + rng.uniform(-1.0, 1.0) * r_l
        y0 = lo - a_lo * (x0 - cx) ** 2
        length = rng.uniform(0.1, 0.25) * r_l
        tilt = rng.uniform(-0.4, 0.4)
        t = np.linspace(0, 1, 6)
        xs = x0 + np.sin(tilt) * length * t
        ys = y0 - np.cos(tilt) * length * t
        pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
        cv2.polylines(canvas, [pts], False, float(rng.uniform(30, 70)), 1, cv2.LINE_AA)
    img = canvas
    # Specular reflections: small saturated discs, one usually inside or on the pupil.
    for k in range(s.reflections):
        if k == 0:
            rx, ry = px + rng.uniform(-0.6, 0.6) * r_p, py + rng.uniform(-0.6, 0.3) * r_p
        else:
            rx, ry = cx + rng.uniform(-0.8, 0.8) * r_l, cy + rng.uniform(-0.3, 0.8) * r_l
        size = s.glint_radius if k == 0 else (3, 6)
        cv2.circle(img, (round(rx), round(ry)), int(rng.integers(*size)), 250.0, -1, cv2.LINE_AA)
    for _ in range(s.pupil_glints):
        rx, ry = px + rng.uniform(-0.7, 0.7) * r_p, py + rng.uniform(-0.7, 0.7) * r_p
        cv2.circle(img, (round(rx), round(ry)), int(rng.integers(2, 4)), 252.0, -1, cv2.LINE_AA)
    squeeze = math.cos(math.radians(s.off_angle_deg))
    if squeeze < 1.0:
        warp = np.array([[squeeze, 0.0, cx * (1.0 - squeeze)], [0.0, 1.0, 0.0]], np.float32)
        img = np.asarray(cv2.warpAffine(img, warp, (w, h), borderMode=cv2.BORDER_REPLICATE))
        px = cx + (px - cx) * squeeze
    img = np.asarray(cv2.GaussianBlur(img, (0, 0), rng.uniform(*s.blur_sigma)), np.float32)
    img += rng.normal(0.0, s.noise_sigma, img.shape).astype(np.float32)
    return EyeCapture(
        image=np.clip(img, 0, 255).astype(np.uint8),
        pupil=(float(px), float(py), float(r_p)),
        limbus=(float(cx), float(cy), float(r_l)),
        rotation_deg=float(rotation),
        upper_lid_y=float(up),
        upper_lid=(float(cx), float(up), float(a_up)),
        lower_lid=(float(cx), float(lo), float(-a_lo)),
        visible_fraction=float((~lid & iris).sum() / max(int(iris.sum()), 1)),
    )


def encode_png(image: NDArray[np.uint8]) -> bytes:
    """PNG bytes of a rendered eye (what a capture device would send)."""
    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def mean_boundary_error(
    truth: tuple[float, float, float], found: tuple[float, float, float], samples: int = 90
) -> float:
    """Mean distance (px) from points on the true circle to the found one, all round: the
    boundary error of a segmentation, independent of how centre and radius errors mix."""
    t = np.linspace(0.0, 2 * np.pi, samples, endpoint=False)
    x = truth[0] + truth[2] * np.cos(t)
    y = truth[1] + truth[2] * np.sin(t)
    return float(np.mean(np.abs(np.hypot(x - found[0], y - found[1]) - found[2])))
