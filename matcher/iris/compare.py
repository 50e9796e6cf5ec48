"""Comparison: masked fractional Hamming distance, minimised over circular shifts.

HD = ‖(A ⊕ B) ∧ Mₐ ∧ M_b‖ / ‖Mₐ ∧ M_b‖ for each shift of the probe along the angle axis,
then Daugman's normalisation HD_norm = 0.5 − (0.5 − HD)·√(n / 911) so a distance computed
over few bits (an occluded eye) is pulled towards 0.5 and cannot look confidently close by
chance. Everything is popcount over packed uint64 words in one compiled loop over gallery
codes × shifts (no temporaries, no GIL); a shift is a roll of the angle-major bytes (see
`types`), done once per probe.

The best shift's HD_norm is then scaled for how correlated the two codes' bits are
(`matcher.iris.correlation`): 0.5 − (0.5 − HD_norm)·(c_ref / √(c_a·c_b))^α. Daugman's
normalisation assumes every set's bits are equally independent; they are not (a small or
blurred iris gives smoother codes, whose unrelated pairs stray further from 0.5), and
without this a threshold learned on some sets admitted 8× its claimed false matches on
another. α below the variance's ½ because the best of many shifts of a smooth code is also
a best of fewer independent trials (measured, see `IrisParams.correlation_exponent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit
from numpy.typing import NDArray

from matcher.iris.bits import bit_count
from matcher.iris.correlation import correlation_factors
from matcher.iris.params import IrisParams
from matcher.iris.types import BYTES_PER_ANGLE, CODE_BITS, CODE_BYTES, IrisCode

DEFAULT_PARAMS = IrisParams()


@dataclass(frozen=True)
class IrisComparison:
    """The best shift of one comparison: normalised and raw distance, bits compared, shift,
    and whether enough bits were visible in both codes for the distance to mean anything
    (when not, `distance` is 0.5: no evidence either way, never a match)."""

    distance: float
    raw_distance: float
    bits_compared: int
    shift: int
    comparable: bool = True

    @property
    def usable_fraction(self) -> float:
        """Share of the 2,048 code bits valid in both codes at the best shift."""
        return self.bits_compared / CODE_BITS


def shifted_words(
    data: NDArray[np.uint8], max_shift: int
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """All circular shifts −max..+max of packed code(s): (S, ..., CODE_WORDS) uint64, shifts.

    A positive shift rotates the probe's angle axis forward by that many positions.
    """
    shifts, gather = _shift_gather(max_shift)
    rolled = np.moveaxis(data[..., gather], -2, 0)  # (S, ..., 256)
    return np.ascontiguousarray(rolled).view(np.uint64), shifts


@lru_cache(maxsize=8)
def _shift_gather(max_shift: int) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Shifts −max..+max and the byte index of each rolled code: one fancy-index gather."""
    shifts = np.arange(-max_shift, max_shift + 1, dtype=np.int64)
    base = np.arange(CODE_BYTES)
    gather = (base[None, :] - shifts[:, None] * BYTES_PER_ANGLE) % CODE_BYTES
    return shifts, gather.astype(np.intp)


def as_words(data: NDArray[np.uint8]) -> NDArray[np.uint64]:
    """Packed code bytes (..., 256) as (..., 32) uint64 words, for popcount arithmetic."""
    return np.ascontiguousarray(data, dtype=np.uint8).view(np.uint64)


def normalise_distance(
    raw: NDArray[np.float64], n: NDArray[np.int64], norm_bits: int
) -> NDArray[np.float64]:
    """Daugman's correction of a fractional HD for the number of bits it was computed on."""
    return 0.5 - (0.5 - raw) * np.sqrt(n / norm_bits)


def correct_for_correlation(
    distance: NDArray[np.float64],
    probe_factor: float,
    gallery_factors: NDArray[np.float64],
    params: IrisParams,
) -> NDArray[np.float64]:
    """Normalised distances rescaled about 0.5 for the pair's bit correlation (module doc):
    a pair of smoother-than-usual codes needs to be closer to score as high. Kept within
    [0, 1], so a rougher-than-usual code matched with itself scores 0, not below."""
    pair = np.sqrt(probe_factor * gallery_factors)
    scale = (params.correlation_reference / pair) ** params.correlation_exponent
    return np.clip(0.5 - (0.5 - distance) * scale, 0.0, 1.0)


def gallery_correlation_factors(
    codes: NDArray[np.uint8], masks: NDArray[np.uint8], params: IrisParams = DEFAULT_PARAMS
) -> NDArray[np.float64]:
    """Each gallery code's bit-correlation factor, for callers that compare one gallery with
    many probes and compute them once (`distances_to_many(..., gallery_factors=...)`)."""
    return correlation_factors(
        codes, masks, params.correlation_lag_angles, params.correlation_lag_rings
    )


def distances_to_many(
    probe: IrisCode,
    codes: NDArray[np.uint8],
    masks: NDArray[np.uint8],
    params: IrisParams = DEFAULT_PARAMS,
    gallery_factors: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Best-shift (normalised HD, raw HD, bits compared, shift) of a probe against K codes.

    `codes` and `masks` are (K, 256) packed uint8 arrays (the gallery layout of the index);
    the normalised HD includes the bit-correlation correction, from `gallery_factors` when
    given (`gallery_correlation_factors` of the same rows), else computed here.
    """
    if codes.ndim != 2 or codes.shape[1] != CODE_BYTES or masks.shape != codes.shape:
        raise ValueError(f"gallery codes must be (K, {CODE_BYTES}) uint8 with equal masks")
    pc, pm, shifts = _probe_words(probe.code.tobytes(), probe.mask.tobytes(), params.max_shift)
    norm, raw, n, best = _best_shift_distances(
        pc, pm, as_words(codes), as_words(masks), float(params.norm_bits), params.min_compared_bits
    )
    if params.correlation_exponent:
        if gallery_factors is None:
            gallery_factors = gallery_correlation_factors(codes, masks, params)
        norm = correct_for_correlation(norm, code_factor(probe, params), gallery_factors, params)
    return norm, raw, n, shifts[best]


def code_factor(template: IrisCode, params: IrisParams = DEFAULT_PARAMS) -> float:
    """One code's bit-correlation factor, worked out once per code and lag window."""
    window = (params.correlation_lag_angles, params.correlation_lag_rings)
    factor = template.correlation_factors.get(window)
    if factor is None:
        factor = float(
            correlation_factors(template.code[None, :], template.mask[None, :], *window)[0]
        )
        template.correlation_factors[window] = factor
    return factor


@lru_cache(maxsize=64)
def _probe_words(
    code: bytes, mask: bytes, max_shift: int
) -> tuple[NDArray[np.uint64], NDArray[np.uint64], NDArray[np.int64]]:
    """A probe's shifted code and mask words, kept for the next call: a 1:N re-rank compares
    one probe with each shortlisted eye in turn, and the shifts are a third of that work."""
    pc, shifts = shifted_words(np.frombuffer(code, dtype=np.uint8), max_shift)
    pm, _ = shifted_words(np.frombuffer(mask, dtype=np.uint8), max_shift)
    return pc, pm, shifts


@njit(cache=True, nogil=True)
def _best_shift_distances(
    pc: NDArray[np.uint64],
    pm: NDArray[np.uint64],
    gc: NDArray[np.uint64],
    gm: NDArray[np.uint64],
    norm_bits: float,
    min_bits: int,
) -> tuple[
    NDArray[np.float64], NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]
]:  # pragma: no cover - compiled
    """Per gallery code, the shift index with the lowest normalised masked HD, and its
    normalised HD, raw HD and bits compared (0.5 when fewer than `min_bits` are shared).

    Compiled without the GIL, so concurrent 1:N searches re-rank on separate cores.
    """
    n_shifts, words = pc.shape
    k_codes = gc.shape[0]
    best_norm = np.full(k_codes, 0.5)
    best_raw = np.full(k_codes, 0.5)
    best_n = np.zeros(k_codes, dtype=np.int64)
    best_s = np.zeros(k_codes, dtype=np.int64)
    for k in range(k_codes):
        first = True
        for s in range(n_shifts):
            n = 0
            diff = 0
            for w in range(words):
                both = pm[s, w] & gm[k, w]
                n += bit_count(both)
                diff += bit_count((pc[s, w] ^ gc[k, w]) & both)
            raw = diff / n if n > 0 else 0.5
            norm = 0.5 - (0.5 - raw) * np.sqrt(n / norm_bits) if n >= min_bits else 0.5
            if first or norm < best_norm[k]:
                best_norm[k], best_raw[k], best_n[k], best_s[k] = norm, raw, n, s
                first = False
    return best_norm, best_raw, best_n, best_s


def compare(a: IrisCode, b: IrisCode, params: IrisParams = DEFAULT_PARAMS) -> IrisComparison:
    """Compare two iris codes; `shift` is the rotation of `a` that aligns it with `b`."""
    factors = np.array([code_factor(b, params)]) if params.correlation_exponent else None
    d, raw, n, s = distances_to_many(a, b.code[None, :], b.mask[None, :], params, factors)
    bits = int(n[0])
    return IrisComparison(
        float(d[0]), float(raw[0]), bits, int(s[0]), bits >= params.min_compared_bits
    )
