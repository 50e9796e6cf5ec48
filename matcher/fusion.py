"""Fusion across modalities (iris with fingerprints) for people enrolled with both.

Rule: every sample's similarity is first turned into its calibrated false match rate by its
own modality's calibration (fingerprint scores by the fingerprint calibration, iris scores by
the iris one), so scores on different scales become the same currency: the probability that
an impostor sample scores at least as high. For an impostor, samples of different modalities
(and different fingers or eyes) are compared independently, so the FMRs are independent and
uniform, and Fisher's method gives the exact fused FMR (`matcher.fingerprint.fusion.
fuse_fmrs`, reused here): FMR = q · Σ_{j<k} (−ln q)^j / j!, q = Π pᵢ.

The same target FMR then applies whatever was captured (one finger, two fingers, an iris,
or all of them); a missing sample is left out, never counted as a non-match; and a strong
iris (FMR ≈ 1e-9) carries a decision that a worn finger could not, which is what makes a
nationwide 1:N search feasible (FPIR ≈ N × FMR).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from matcher.fingerprint.calibration import DEFAULT_TARGET_FMR, Calibration
from matcher.fingerprint.fusion import FusionError, fuse_fmrs


class FusionUncalibrated(FusionError):
    """A sample of a modality that has no calibration to read its score."""

    code = "fusion_uncalibrated"


@dataclass(frozen=True)
class ModalScore:
    """One sample's similarity and the modality whose calibration reads it."""

    modality: str  # "fingerprint" or "iris"
    position: int  # ISO finger position, or ISO/IEC 19794-6 eye label (1 right, 2 left)
    score: float


@dataclass(frozen=True)
class MultimodalDecision:
    """The fused decision; `score` is −log10 of the fused FMR (higher = surer)."""

    score: float
    fmr: float
    target_fmr: float
    match: bool
    samples: tuple[tuple[ModalScore, float], ...]  # each sample with its own FMR

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "fmr": self.fmr,
            "target_fmr": self.target_fmr,
            "decision": "match" if self.match else "no_match",
            "samples": [
                {"modality": s.modality, "position": s.position, "score": s.score, "fmr": f}
                for s, f in self.samples
            ],
        }


def fuse_modalities(
    scores: list[ModalScore],
    calibrations: Mapping[str, Calibration],
    *,
    target_fmr: float = DEFAULT_TARGET_FMR,
) -> MultimodalDecision:
    """Fuse samples of any modalities into one calibrated decision at `target_fmr`."""
    if not scores:
        raise FusionError("no sample to fuse")
    missing = {s.modality for s in scores} - set(calibrations)
    if missing:
        raise FusionUncalibrated(f"no calibration for modality {sorted(missing)}")
    fmrs = [calibrations[s.modality].fmr(s.score) for s in scores]
    fused = fuse_fmrs(fmrs)
    return MultimodalDecision(
        score=-math.log10(fused),
        fmr=fused,
        target_fmr=target_fmr,
        match=fused <= target_fmr,
        samples=tuple(zip(scores, fmrs, strict=True)),
    )


def default_calibrations() -> dict[str, Calibration]:
    """The shipped calibration of every modality, keyed by modality name."""
    from matcher.fingerprint.calibration import default_calibration
    from matcher.iris.calibration import default_iris_calibration

    return {"fingerprint": default_calibration(), "iris": default_iris_calibration()}
