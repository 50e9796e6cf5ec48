"""Multi-finger fusion (both index fingers, as on the e-KTP card), at the FMR level.

Rule (Fisher's method): each finger's score is first turned into its calibrated FMR pᵢ, the
probability that an impostor finger scores at least as high. For a true impostor each pᵢ is
uniform on (0, 1], and different fingers of two different people are compared
independently, so X = −2 Σ ln pᵢ follows a χ² law with 2k degrees of freedom. The fused FMR
is the χ² tail at X, in closed form for even degrees of freedom:

    FMR_fused = q · Σ_{j<k} (−ln q)^j / j!,   with q = Π pᵢ

(for two fingers: q · (1 − ln q)). This keeps the fused result a calibrated FMR, so the same
target FMR applies to one finger or two; it rewards two good fingers far more than one
excellent and one poor finger, and it needs no training beyond the per-finger calibration.
A finger missing from either side is left out (k shrinks), never counted as a non-match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matcher.fingerprint.calibration import (
    DEFAULT_TARGET_FMR,
    FMR_FLOOR,
    Calibration,
    default_calibration,
)


class FusionError(ValueError):
    """Nothing to fuse."""

    code = "fusion_empty"


@dataclass(frozen=True)
class FusedDecision:
    """A decision on several fingers; `score` is −log10 of the fused FMR (higher = surer)."""

    score: float
    fmr: float
    target_fmr: float
    match: bool
    finger_scores: tuple[float, ...]
    finger_fmrs: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "fmr": self.fmr,
            "target_fmr": self.target_fmr,
            "decision": "match" if self.match else "no_match",
            "fingers": [
                {"score": s, "fmr": f}
                for s, f in zip(self.finger_scores, self.finger_fmrs, strict=True)
            ],
        }


def fuse_fmrs(fmrs: Sequence[float]) -> float:
    """Fisher combination of independent per-finger FMRs into one FMR."""
    if len(fmrs) == 0:
        raise FusionError("no finger to fuse")
    clipped = [min(1.0, max(FMR_FLOOR, p)) for p in fmrs]
    log_q = sum(math.log(p) for p in clipped)
    term, total = 1.0, 1.0
    for j in range(1, len(clipped)):
        term *= -log_q / j
        total += term
    return float(min(1.0, max(FMR_FLOOR, math.exp(log_q) * total)))


def fuse(
    scores: Sequence[float],
    *,
    calibration: Calibration | None = None,
    target_fmr: float = DEFAULT_TARGET_FMR,
) -> FusedDecision:
    """Decide on several fingers' scores (one per finger position present on both sides)."""
    cal = calibration or default_calibration()
    fmrs = tuple(cal.fmr(s) for s in scores)
    fused = fuse_fmrs(fmrs)
    return FusedDecision(
        score=-math.log10(fused),
        fmr=fused,
        target_fmr=target_fmr,
        match=fused <= target_fmr,
        finger_scores=tuple(float(s) for s in scores),
        finger_fmrs=fmrs,
    )
