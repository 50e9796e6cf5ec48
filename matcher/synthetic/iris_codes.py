"""Fast code-level iris synthesis: realistic iris codes without images, for 1:N at scale.

Model. Each eye is a latent complex texture response per ring and angular position: white
complex noise, correlated between neighbouring rings (`radial_mix`) and band-passed along
the angle by the same log-Gabor filter the encoder uses. A capture adds fresh noise of the
same kind (sensor noise, focus, segmentation jitter; level drawn per capture), rotates the
eye by a random number of angular positions, and quantises the phase to 2 bits. Its mask
models the eyelids (outer rings around the top and bottom of the eye, in the image frame, so
they do not rotate with the texture) and scattered eyelash noise; masked bits are random, as
the encoder's bits over skin and lashes are.

Because the bits come from band-passed noise they are correlated along the angle and across
rings like real codes, so unrelated eyes give distances with mean ≈ 0.5 and about 250
degrees of freedom (Daugman measured 249), not the 2,048 of independent bits; genuine
captures differ by the noise level. Deterministic by seed (eye seed, capture seed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from matcher.iris.encode import log_gabor
from matcher.iris.types import ANGLES, CODE_BYTES, RINGS, IrisCode

_EYE_SALT = 0x1815
_CAPTURE_SALT = 0xCA97


@dataclass(frozen=True)
class CodeSynthParams:
    # Log-Gabor centre wavelength in code positions, the encoder's (`IrisParams.wavelength`,
    # 14 of 256 samples = 7 of 128): sets the angular correlation of the bits.
    wavelength: float = 7.0
    sigma_on_f: float = 0.5
    # Correlation between neighbouring rings' textures (iris fibres run radially).
    radial_mix: float = 0.8
    # Capture noise relative to the eye's texture: genuine distances of ~0.1 (good capture)
    # to ~0.3 (poor) at these levels.
    noise_min: float = 0.2
    noise_max: float = 0.65
    # Head tilt: uniform rotation within ±max_rotation angular positions (±11°), so two
    # captures differ by at most the comparison's ±8 positions.
    max_rotation: int = 4
    # Upper/lower eyelid: greatest share of the rings covered at the top/bottom of the eye.
    upper_lid_max: float = 0.7
    lower_lid_max: float = 0.4
    # Eyelash speckle: share of samples masked at random.
    lash_fraction: float = 0.03


DEFAULT = CodeSynthParams()


@lru_cache(maxsize=4)
def _synthesis(wavelength: float, sigma_on_f: float) -> NDArray[np.complex64]:
    """(bins, ANGLES) matrix turning random spectral coefficients into filtered fields.

    Band-passing white noise by the log-Gabor equals drawing white noise directly in the
    frequency domain, weighting it by the filter and transforming back; only the bins where
    the filter is not negligible are drawn, which makes the synthesis a small matmul.
    """
    h = log_gabor(ANGLES, wavelength, sigma_on_f)
    bins = np.flatnonzero(h > 1e-3 * h.max())
    n = np.arange(ANGLES)
    basis = h[bins, None] * np.exp(2j * np.pi * np.outer(bins, n) / ANGLES)
    return (basis / np.sqrt(2.0 * np.sum(h[bins] ** 2))).astype(np.complex64)


def _white(rng: np.random.Generator, params: CodeSynthParams) -> NDArray[np.float32]:
    """Real white spectral draws for one complex field: shape (2, RINGS, bins)."""
    bins = _synthesis(params.wavelength, params.sigma_on_f).shape[0]
    return rng.standard_normal((2, RINGS, bins), dtype=np.float32)


def _ring_mixing(mix: float) -> NDArray[np.float32]:
    """Lower-triangular AR(1) weights: ring r keeps `mix` of ring r − 1, unit variance."""
    r = np.arange(RINGS)
    w = np.where(r[:, None] >= r[None, :], mix ** (r[:, None] - r[None, :]).astype(float), 0.0)
    w[:, 1:] *= np.sqrt(1 - mix**2)
    return w.astype(np.float32)


def _filter(white: NDArray[np.float32], params: CodeSynthParams) -> NDArray[np.complex64]:
    """Ring-correlated, angularly band-passed unit-power fields from (K, 2, RINGS, bins)."""
    mixed = np.matmul(_ring_mixing(params.radial_mix), white)
    coeffs = (mixed[:, 0] + 1j * mixed[:, 1]).astype(np.complex64)
    out: NDArray[np.complex64] = coeffs @ _synthesis(params.wavelength, params.sigma_on_f)
    return out


def eyelid_masks(
    lids: NDArray[np.float64], speckle: NDArray[np.float32], params: CodeSynthParams = DEFAULT
) -> NDArray[np.bool_]:
    """Validity (K, RINGS, ANGLES) from per-capture lid draws and lash speckle.

    `lids` holds (upper depth, upper half-width, lower depth, lower half-width) per capture,
    as uniform [0, 1) draws scaled here; lids cover the outer rings around the top and bottom
    of the eye, lashes mask `lash_fraction` of samples at random.
    """
    a = np.arange(ANGLES)
    ring_pos = (np.arange(RINGS) + 0.5) / RINGS  # 0 = pupil side, 1 = limbus side
    valid = speckle >= params.lash_fraction
    # Angle 0 is +x with y down: the top of the eye is at 3/4 turn, the bottom at 1/4.
    for centre, col, max_depth in (
        (3 * ANGLES // 4, 0, params.upper_lid_max),
        (ANGLES // 4, 2, params.lower_lid_max),
    ):
        depth = lids[:, col] * max_depth
        half_width = ANGLES * (0.12 + 0.18 * lids[:, col + 1])
        gap = np.abs((a - centre + ANGLES // 2) % ANGLES - ANGLES // 2)
        cover = depth[:, None] * np.clip(1.0 - (gap[None, :] / half_width[:, None]) ** 2, 0, None)
        valid &= ring_pos[None, :, None] < 1.0 - cover[:, None, :]
    return valid


def _capture_draws(
    eye_seed: int, capture_seed: int, params: CodeSynthParams
) -> tuple[
    NDArray[np.float32],
    NDArray[np.float32],
    NDArray[np.float64],
    NDArray[np.float32],
    NDArray[np.uint8],
]:
    """Every random draw of one capture, from its own generators (so batches stay seeded):
    eye texture noise, capture noise, (level, shift, 4 lid draws), lash speckle and the
    packed values of masked bits."""
    eye = _white(np.random.default_rng([_EYE_SALT, eye_seed]), params)
    rng = np.random.default_rng([_CAPTURE_SALT, eye_seed, capture_seed])
    white, scalars = _white(rng, params), rng.random(6)
    speckle = rng.random((RINGS, ANGLES), dtype=np.float32)
    return eye, white, scalars, speckle, rng.integers(0, 256, CODE_BYTES, dtype=np.uint8)


def captures(
    eye_seeds: Iterable[int] | NDArray[np.int64],
    capture_seed: int = 0,
    params: CodeSynthParams = DEFAULT,
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.int64]]:
    """Packed codes and masks (K, 256) of one capture of each eye, and their rotations.

    The arithmetic runs batched; each capture still draws from generators seeded by its own
    (eye, capture) pair, so any one capture is reproduced alone by `capture`.
    """
    draws = [_capture_draws(int(s), capture_seed, params) for s in eye_seeds]
    k = len(draws)
    if not k:
        empty = np.zeros((0, 256), np.uint8)
        return empty, empty.copy(), np.zeros(0, np.int64)
    scalars = np.stack([d[2] for d in draws])
    levels = params.noise_min + (params.noise_max - params.noise_min) * scalars[:, 0]
    span = 2 * params.max_rotation + 1
    shifts = (np.floor(scalars[:, 1] * span) - params.max_rotation).astype(np.int64)
    z = _filter(np.stack([d[0] for d in draws]), params)
    z += levels[:, None, None].astype(np.float32) * _filter(np.stack([d[1] for d in draws]), params)
    # Rotate each eye's texture by its own shift along the angle axis.
    idx = (np.arange(ANGLES)[None, :] - shifts[:, None]) % ANGLES
    z = np.take_along_axis(z, idx[:, None, :], axis=2)
    bits = np.stack([z.real > 0, z.imag > 0], axis=-1).transpose(0, 2, 1, 3)  # (K, A, R, 2)
    valid = eyelid_masks(scalars[:, 2:], np.stack([d[3] for d in draws]), params)
    mask = np.repeat(valid.transpose(0, 2, 1)[..., None], 2, axis=3)
    codes = np.packbits(bits.reshape(k, -1), axis=1)
    masks = np.packbits(mask.reshape(k, -1), axis=1)
    # Under a lid or lash the encoder sees skin, not this eye's texture: masked bits are
    # noise, which is what an unmasked (coarse) Hamming distance has to live with.
    codes = (codes & masks) | (np.stack([d[4] for d in draws]) & ~masks)
    return codes, masks, shifts


def capture(
    eye_seed: int, capture_seed: int, params: CodeSynthParams = DEFAULT
) -> tuple[IrisCode, int]:
    """One capture of an eye: its iris code and the rotation applied (angular positions)."""
    codes, masks, shifts = captures([eye_seed], capture_seed, params)
    return IrisCode(code=codes[0], mask=masks[0]), int(shifts[0])
