"""The shipped fingerprint calibration: impostor scores of template-level synthetic fingers.

Synthetic impostors are cheap (hundreds of thousands of comparisons in seconds) but kinder
than real ones: a real extractor misses and invents far more minutiae than the generator's
default impressions do, and real fingers share pattern structure, so real impostor pairs find
consistent-looking structures more often. Two measures keep the shipped calibration honest:

- impressions made for calibration drop a quarter of the true minutiae and add spurious ones
  numbering 60% of the true ones (`CALIBRATION_IMPRESSION`): the default extractor joins two
  extractors' minutiae (`matcher.fingerprint.fused`), so its templates carry both
  extractors' false minutiae and are denser than a single extractor's;
- the remaining gap is closed by two documented corrections measured against real impostors
  extracted by the default extractor: the synthetic log-odds tail decays faster than the
  real one (scale 0.39 against 0.47 on the 11,520 all-pairs impostors of FVC2002 DB1–4 B),
  so its scale is widened by `SYNTHETIC_TAIL_WIDENING`, and every reported FMR is multiplied
  by `SYNTHETIC_FMR_FACTOR`, the smallest margin with which the measured FMR at the claimed
  1e-3 and 1e-4 is at most twice the claim on each of seven FVC sensors (FVC2002 and
  FVC2000 B sets, `smallest_factor`). Per sensor, not pooled: impostor pairs come in
  clusters (ten fingers make 45 pairs of fingers, each compared 64 times), and one pair of
  look-alike fingers lifts a whole sensor's measured FMR; on FVC2000 DB1 two such pairs give
  the top ten impostor scores. Chosen leave one set out, the margin keeps six held-out
  sensors within 2x and the seventh (FVC2000 DB1) at 2.1x (`satupintu-bench
  calibration-margin`). (The Gabor extractor alone, whose templates are sparser, scores
  impostors lower: for it this calibration is conservative.)

A calibration learned from a site's own labelled captures (`satupintu calibrate FOLDER`)
needs neither and is always preferable.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from matcher.fingerprint.calibration import LOG_ODDS_TAIL, Calibration, fit
from matcher.fingerprint.compare import compare_prepared, prepare
from matcher.synthetic.minutiae import ImpressionParams, impression, master

CALIBRATION_IMPRESSION = ImpressionParams(drop_rate=0.25, spurious_rate=0.6)
SYNTHETIC_TAIL_WIDENING = 1.18  # real / synthetic log-odds tail scale on FVC2002
# Smallest margin (step 0.1) keeping every one of seven FVC sensors within 2x of the claim
# at 1e-3 and 1e-4; leave one set out it chose 3.1–3.2.
SYNTHETIC_FMR_FACTOR = 3.2
FIRST_SEED = 90_000  # masters used nowhere else (benchmarks and tests use other seeds)


def synthetic_impostor_scores(fingers: int, seed: int = FIRST_SEED) -> np.ndarray:
    """All-pairs impostor scores of `fingers` synthetic fingers, one impression each."""
    templates = [
        prepare(impression(master(s), seed=1, params=CALIBRATION_IMPRESSION))
        for s in range(seed, seed + fingers)
    ]
    return np.array(
        [
            compare_prepared(templates[i], templates[j])
            for i in range(len(templates))
            for j in range(i + 1, len(templates))
        ]
    )


def fit_impostors(scores: np.ndarray, *, source: str, fmr_factor: float = 1.0) -> Calibration:
    """A fingerprint calibration: log-odds tail (see `matcher.fingerprint.calibration`)."""
    return fit(scores, source=source, tail_space=LOG_ODDS_TAIL, fmr_factor=fmr_factor)


def fit_synthetic(fingers: int = 800) -> Calibration:
    """How the shipped default is made (`satupintu calibrate --synthetic 800`)."""
    fitted = fit_impostors(
        synthetic_impostor_scores(fingers),
        source=(
            f"synthetic template-level: {fingers} fingers, all pairs; tail widened "
            f"x{SYNTHETIC_TAIL_WIDENING:g}, FMR x{SYNTHETIC_FMR_FACTOR:g} (real-impostor margins)"
        ),
        fmr_factor=SYNTHETIC_FMR_FACTOR,
    )
    return replace(fitted, tail_scale=fitted.tail_scale * SYNTHETIC_TAIL_WIDENING)
