"""Iris 1:N: the shared FAISS `BinaryIdentifier`, fed with iris codes.

Coarse stage: each enrolled eye is one 2,048-bit code in a FAISS binary flat index, searched
by plain (unmasked) Hamming distance. Eye rotation is handled on the probe side only: the
probe sends its code at every second shift in ±8 positions (9 codes, so any rotation is
within one position of a sent one), and each shifted code votes for its nearest enrolled
eyes. Enrolled codes are stored once, so memory stays at 256 bytes of code per eye.
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
from matcher.index.binary import BinaryIdentifier, IndexSettings
from matcher.iris.calibration import default_iris_calibration
from matcher.iris.compare import shifted_words
from matcher.iris.modality import similarity
from matcher.iris.storage import IrisCodec
from matcher.iris.types import CODE_BYTES, IrisCode

# ISO/IEC 19794-6 eye labels (0 would mean "unspecified", which the index treats as any eye).
RIGHT_EYE, LEFT_EYE = 1, 2
PROBE_SHIFT_RANGE = 8
PROBE_SHIFT_STEP = 2


class IrisCodeEncoder:
    """`FixedLengthEncoder[IrisCode]`: the code bits themselves (masks are for re-ranking)."""

    name = "iriscode-v1/8x128x2"
    code_bytes = CODE_BYTES

    def encode(self, template: IrisCode) -> NDArray[np.uint8]:
        return template.code

    def encode_probe(self, template: IrisCode) -> NDArray[np.uint8]:
        """The probe's code at shifts −8, −6, …, +8: shape (9, 256)."""
        words, shifts = shifted_words(template.code, PROBE_SHIFT_RANGE)
        keep = shifts % PROBE_SHIFT_STEP == 0
        return np.ascontiguousarray(words[keep]).view(np.uint8).reshape(-1, CODE_BYTES)


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
        settings=settings or IndexSettings(neighbours=20, shortlist=50),
    )
