"""Iris 1:N: the shared FAISS `BinaryIdentifier`, fed with a short coarse iris code.

Coarse stage: each enrolled eye is one 768-bit code in a FAISS binary flat index, searched by
plain (unmasked) Hamming distance. The coarse code is rings 1–3 of the 2,048-bit code (of
rings 0–7, pupil → limbus): measured on CASIA-IrisV1 genuine pairs, these rings disagree
least when masks are ignored (27% of bits, against 30% for ring 0, which the pupil boundary's
fitting error shears, and 31–35% for rings 5–7, where lids and lashes sit). Unmasked bits are
all FAISS can compare, so the rings most often visible make the best shortlist, and a third
of the bits scans three times faster than the full code.

Eye rotation is handled on the probe side: the probe sends its coarse code at every shift in
±8 positions (17 codes); each votes for its nearest enrolled eyes. Every shift, not every
second one: neighbouring angular positions share only part of their phase (the log-Gabor
wavelength is 7 positions), so an off-by-one alignment costs more recall than 17 short scans
cost time. On 1M synthetic eyes whose masked bits are noise, the same voting gave shortlist
recall 0.89 with the full code at every second shift (the previous design) and 1.00 with
rings 1–3 at every shift; `satupintu-bench identify --modality iris` measures the latter.
Enrolled codes are stored once (96 bytes of coarse code per eye).

Fine stage: the exact masked, normalised, best-shift Hamming distance (`compare`) re-ranks
the shortlist; scores are calibrated to FMRs and two eyes are fused by Fisher's method.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.calibration import Calibration
from matcher.fingerprint.fusion import fuse_fmrs
from matcher.index.base import ProbeError
from matcher.index.binary import BinaryIdentifier
from matcher.index.settings import IndexSettings
from matcher.iris.calibration import default_iris_calibration
from matcher.iris.modality import similarity
from matcher.iris.storage import IrisCodec
from matcher.iris.types import ANGLES, BITS_PER_SAMPLE, RINGS, IrisCode

# ISO/IEC 19794-6 eye labels (0 would mean "unspecified", which the index treats as any eye).
RIGHT_EYE, LEFT_EYE = 1, 2
PROBE_SHIFT_RANGE = 8
COARSE_RINGS = slice(1, 4)
COARSE_BITS = ANGLES * (COARSE_RINGS.stop - COARSE_RINGS.start) * BITS_PER_SAMPLE  # 768


def coarse_codes(
    codes: NDArray[np.uint8], shifts: NDArray[np.int64] | None = None
) -> NDArray[np.uint8]:
    """Coarse codes (K, 96) of packed iris codes (K, 256), or (K, S, 96) at each of `shifts`.

    A shift rolls the angle axis as `compare` does (positive = the probe turned forward).
    """
    bits = np.unpackbits(codes, axis=-1).reshape(*codes.shape[:-1], ANGLES, RINGS, BITS_PER_SAMPLE)
    ring_bits = bits[..., COARSE_RINGS, :]
    if shifts is not None:
        ring_bits = np.stack([np.roll(ring_bits, int(s), axis=-3) for s in shifts], axis=-4)
    flat = ring_bits.reshape(*ring_bits.shape[:-3], COARSE_BITS)
    return np.ascontiguousarray(np.packbits(flat, axis=-1))


class IrisCodeEncoder:
    """`FixedLengthEncoder[IrisCode]`: rings 1–3 of the code bits (masks are for re-ranking)."""

    name = "iriscode-v2/rings1-3x128x2"
    code_bytes = COARSE_BITS // 8

    def encode(self, template: IrisCode) -> NDArray[np.uint8]:
        return coarse_codes(template.code[None, :])[0]

    def encode_probe(self, template: IrisCode) -> NDArray[np.uint8]:
        """The probe's coarse code at every shift −8 … +8: shape (17, 96)."""
        shifts = np.arange(-PROBE_SHIFT_RANGE, PROBE_SHIFT_RANGE + 1, dtype=np.int64)
        return coarse_codes(template.code[None, :], shifts)[0]


class IrisIdentifier(BinaryIdentifier[IrisCode]):
    """The binary identifier with rotation-tolerant probe encoding."""

    encoder: IrisCodeEncoder

    def _encode_probe(
        self, probe: Mapping[int, IrisCode]
    ) -> tuple[list[int], list[IrisCode], list[NDArray[np.uint8]]]:
        if not probe:
            raise ProbeError("a probe needs at least one eye")
        positions = sorted(probe)
        for pos in positions:
            if pos not in (RIGHT_EYE, LEFT_EYE):
                raise ProbeError(f"iris position {pos} is neither 1 (right) nor 2 (left)")
        templates = [probe[p] for p in positions]
        return positions, templates, [self.encoder.encode_probe(t) for t in templates]


def iris_identifier(
    *,
    settings: IndexSettings | None = None,
    calibration: Calibration | None = None,
) -> IrisIdentifier:
    """The iris 1:N index: iris-code shortlist, exact shifted-Hamming re-rank, Fisher fusion."""
    return IrisIdentifier(
        encoder=IrisCodeEncoder(),
        codec=IrisCodec(),
        comparator=similarity,
        calibration=calibration or default_iris_calibration(),
        fuse=fuse_fmrs,
        settings=settings or IndexSettings(neighbours=20, shortlist=100),
    )
