"""Per-minutia quality and the finger image quality score (0–100) with actionable reasons.

An operator at a service point can act on "press flatter" or "clean the sensor", not on a bare
rejection, so the score is a product of a few interpretable factors, each in [0, 1], and every
factor that falls short adds a reason with a machine code and a sentence for the operator:

- contact area (how much finger touched the sensor);
- ridge clarity (coherent ridge flow with a clean ridge-frequency peak: dirt, sweat, scars
  and a dirty sensor lower it);
- contrast (a faint, dry or lightly pressed print) and darkness (a wet or smeared print);
- the number of reliable minutiae (what the matcher ultimately needs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.orientation import block_mean

# Calibration points of each factor (measured on FVC2002 and synthetic prints; a factor is 0
# at `lo` and 1 at `hi`). Areas are px² at 500 dpi: a full flat index finger covers ~90,000.
AREA_RANGE = (12_000.0, 45_000.0)
COHERENCE_RANGE = (0.30, 0.60)
CLARITY_RANGE = (0.15, 0.40)
CONTRAST_RANGE = (5.0, 16.0)
MINUTIAE_RANGE = (6.0, 22.0)
DARK_RANGE = (0.5, 0.25)  # share of the finger at the darkest tenth of the grey range
# A factor under this value is reported as a reason.
REASON_BELOW = 0.7


@dataclass(frozen=True)
class QualityReason:
    """Why a capture scored low: a machine code and what the operator should do."""

    code: str
    message: str


@dataclass(frozen=True)
class QualityAssessment:
    """Finger image quality: `score` 0–100 (higher is better) and the reasons it is low."""

    score: int
    reasons: tuple[QualityReason, ...]
    factors: dict[str, float] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.reasons)


_MESSAGES = {
    "area": QualityReason(
        "small_foreground",
        "Too little of the finger touched the sensor: press the finger flatter and centred "
        "on the sensor.",
    ),
    "clarity": QualityReason(
        "poor_ridge_clarity",
        "The ridges are not clear: clean the sensor glass and the finger, then capture again.",
    ),
    "contrast": QualityReason(
        "low_contrast",
        "The print is faint: press a little firmer; if the finger is dry, moisten it slightly.",
    ),
    "dark": QualityReason(
        "too_dark",
        "The print is smeared dark: the finger may be wet or pressed too hard; dry it and "
        "press gently.",
    ),
    "minutiae": QualityReason(
        "too_few_minutiae",
        "Too few ridge details were found: place the centre of the fingertip on the sensor "
        "and press flatter.",
    ),
}


def _ramp(value: float, lo: float, hi: float) -> float:
    return float(np.clip((value - lo) / (hi - lo), 0.0, 1.0))


def ridge_reliability(
    enhanced: NDArray[np.float32], normalised: NDArray[np.float32], block: int
) -> NDArray[np.float32]:
    """Per block, how much of the local signal the oriented ridge model explains, in [0, 1].

    The Gabor bank passes only ridges of the local orientation and frequency, so the energy
    ratio of its output to its input is high where ridges are clean and low in noise, dots,
    scars and smudges. It is scaled by the image's own clean level (90th percentile), since
    the absolute ratio depends on the ridge period.
    """
    out = block_mean(enhanced * enhanced, block)
    inp = block_mean(normalised * normalised, block)
    ratio = out / np.maximum(inp, 1e-6)
    clean = float(np.percentile(ratio, 90))
    return np.clip(ratio / max(clean, 1e-6), 0.0, 1.0).astype(np.float32)


def minutia_quality(
    reliability: NDArray[np.float32], distance_to_border: NDArray[np.float32]
) -> NDArray[np.uint8]:
    """0–100 per minutia from the local ridge reliability and the distance to the border.

    Minutiae in clean ridges far from the contact edge are the ones that repeat across
    impressions; ones in noise or near the edge often do not.
    """
    edge = np.clip(distance_to_border / 32.0, 0.3, 1.0)
    return np.clip(np.round(100 * reliability * edge), 1, 100).astype(np.uint8)


def assess_features(
    *,
    foreground_px: int,
    coherence: float,
    clarity: float,
    contrast: float,
    dark_share: float,
    minutiae: int,
) -> QualityAssessment:
    """Combine the measured features (foreground in px² at 500 dpi) into a score and reasons."""
    factors = {
        "area": _ramp(float(foreground_px), *AREA_RANGE),
        "clarity": min(_ramp(coherence, *COHERENCE_RANGE), _ramp(clarity, *CLARITY_RANGE)),
        "contrast": _ramp(contrast, *CONTRAST_RANGE),
        "dark": _ramp(dark_share, *DARK_RANGE),
        "minutiae": _ramp(minutiae, *MINUTIAE_RANGE),
    }
    weights = {"area": 0.8, "clarity": 1.0, "contrast": 0.4, "dark": 0.4, "minutiae": 0.8}
    log_score = sum(w * np.log(max(factors[k], 0.02)) for k, w in weights.items())
    score = round(100 * float(np.exp(log_score)))
    reasons = tuple(_MESSAGES[k] for k, v in factors.items() if v < REASON_BELOW)
    return QualityAssessment(score=max(0, min(100, score)), reasons=reasons, factors=factors)
