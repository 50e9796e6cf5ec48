"""Error rates of a verification system from genuine and impostor scores (ISO/IEC 19795-1).

Scores are similarities (higher = more alike); a comparison is accepted when score ≥ t.
EER follows the FVC reports' definition (see `equal_error_rate`), so our figures are
comparable with published FVC results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class ErrorRates:
    """Summary figures, all as fractions in [0, 1]."""

    eer: float
    fmr100: float  # lowest FNMR with FMR ≤ 1%
    fmr1000: float  # lowest FNMR with FMR ≤ 0.1%
    zerofmr: float  # lowest FNMR with FMR = 0
    eer_threshold: float
    genuine: int
    impostor: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class Curve:
    """FMR and FNMR at every distinct threshold, thresholds ascending."""

    thresholds: NDArray[np.float64]
    fmr: NDArray[np.float64]
    fnmr: NDArray[np.float64]


def error_curve(genuine: ArrayLike, impostor: ArrayLike) -> Curve:
    """FMR(t) = share of impostors ≥ t, FNMR(t) = share of genuines < t, at every score seen.

    A threshold above every score is appended, so the curve reaches FMR = 0.
    """
    g = np.sort(np.asarray(genuine, dtype=np.float64))
    i = np.sort(np.asarray(impostor, dtype=np.float64))
    if len(g) == 0 or len(i) == 0:
        raise ValueError("error rates need at least one genuine and one impostor score")
    seen = np.unique(np.concatenate([g, i]))
    # Failed comparisons score −∞; the extra threshold must still lie above every score.
    top = seen[-1] + max(1e-9, abs(seen[-1]) * 1e-9) if np.isfinite(seen[-1]) else 0.0
    t = np.append(seen, top)
    fmr = 1.0 - np.searchsorted(i, t, side="left") / len(i)
    fnmr = np.searchsorted(g, t, side="left") / len(g)
    return Curve(thresholds=t, fmr=fmr, fnmr=fnmr)


def equal_error_rate(curve: Curve) -> tuple[float, float]:
    """(EER, threshold) as defined in the FVC2000 report (Maio et al., 2002).

    t1 is the last threshold with FNMR ≤ FMR, t2 the first with FNMR ≥ FMR; the EER is the
    middle of the narrower of the intervals [FNMR(t1), FMR(t1)] and [FMR(t2), FNMR(t2)].
    """
    below = np.flatnonzero(curve.fnmr <= curve.fmr)
    above = np.flatnonzero(curve.fnmr >= curve.fmr)
    t1 = int(below[-1]) if len(below) else 0
    t2 = int(above[0]) if len(above) else len(curve.fmr) - 1
    if curve.fnmr[t1] + curve.fmr[t1] <= curve.fmr[t2] + curve.fnmr[t2]:
        low, high, k = curve.fnmr[t1], curve.fmr[t1], t1
    else:
        low, high, k = curve.fmr[t2], curve.fnmr[t2], t2
    return float((low + high) / 2.0), float(curve.thresholds[k])


def fnmr_at_fmr(curve: Curve, max_fmr: float) -> float:
    """Lowest FNMR over thresholds whose FMR ≤ `max_fmr`."""
    ok = curve.fmr <= max_fmr + 1e-15
    return float(curve.fnmr[ok].min())


def error_rates(genuine: ArrayLike, impostor: ArrayLike) -> ErrorRates:
    """EER, FMR100, FMR1000 and ZeroFMR of one score set."""
    curve = error_curve(genuine, impostor)
    eer, threshold = equal_error_rate(curve)
    return ErrorRates(
        eer=eer,
        fmr100=fnmr_at_fmr(curve, 0.01),
        fmr1000=fnmr_at_fmr(curve, 0.001),
        zerofmr=fnmr_at_fmr(curve, 0.0),
        eer_threshold=threshold,
        genuine=int(np.size(genuine)),
        impostor=int(np.size(impostor)),
    )


def decidability(genuine: ArrayLike, impostor: ArrayLike) -> float:
    """Daugman's d′ = |μ_g − μ_i| / √((σ_g² + σ_i²) / 2) over finite scores (failures left out):
    how far apart the two distributions sit, independent of any threshold."""
    g = np.asarray(genuine, dtype=np.float64)
    i = np.asarray(impostor, dtype=np.float64)
    g, i = g[np.isfinite(g)], i[np.isfinite(i)]
    if len(g) < 2 or len(i) < 2:
        return float("nan")
    return float(abs(g.mean() - i.mean()) / np.sqrt((g.var() + i.var()) / 2.0))


@dataclass(frozen=True)
class CalibrationCheck:
    """What a calibration claims at one target FMR against what impostors really do."""

    target_fmr: float  # the FMR the calibration claims at `threshold`
    threshold: float
    measured_fmr: float  # share of the given impostor scores at or above the threshold
    impostors_above: int
    impostors: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def check_calibration(
    threshold_of: Callable[[float], float], impostor: ArrayLike, targets: Sequence[float]
) -> list[CalibrationCheck]:
    """Measured FMR at the thresholds a calibration gives for `targets`: an honest calibration
    measures at most its target (within the resolution 1 / number of impostors)."""
    i = np.asarray(impostor, dtype=np.float64)
    out = []
    for target in targets:
        t = threshold_of(target)
        above = int((i >= t).sum())
        out.append(CalibrationCheck(target, t, above / max(len(i), 1), above, len(i)))
    return out
