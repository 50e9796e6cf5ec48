"""Score calibration: from a similarity score to the false match rate it corresponds to.

A raw score means nothing to an operator or an auditor; "this finger would match a stranger
once in 50,000 tries" does. The mapping is learned from impostor scores (comparisons of
different fingers): FMR(s) is the share of impostor scores ≥ s. Empirically that is only
resolved down to about 1 / (number of impostors), so the upper tail is modelled as an
exponential (a generalised Pareto tail with zero shape, fitted by maximum likelihood to the
top `TAIL_SHARE` of the impostors): the usual extreme-value practice for extrapolating
small error rates, and conservative for the light, bounded tails of similarity scores.
The tail can instead be exponential in the score's log-odds, log(s / (1 − s)) (a Pareto tail
in the odds): fingerprint LSS-R scores need it, because the relaxation multiplies a pair's
similarity by the support of every agreeing pair, so impostor scores that happen to find a
consistent structure grow multiplicatively. On the 11,520 all-pairs impostors of FVC2002
DB1–4 B the score-space tail claims 1e-4 where 9.5e-4 is measured; the log-odds tail 8.7e-5.

A calibration may carry an `fmr_factor` (≥ 1) by which every FMR it reports is multiplied:
a documented safety margin for calibrations learned from synthetic data, whose impostors are
known to score lower than real ones (see `matcher.fingerprint.synthetic_calibration`).

A configured target FMR (for example 1e-4) gives the threshold; every decision reports the
score, the FMR it corresponds to and the threshold used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

CALIBRATION_VERSION = 1
TAIL_SHARE = 0.05  # the top 5% of impostor scores define the exponential tail
MIN_TAIL = 50  # fewer tail points than this give an unstable scale
FMR_FLOOR = 1e-15  # below any rate a finger comparison can meaningfully claim
SCORE_TAIL = "score"  # tail exponential in the score itself
LOG_ODDS_TAIL = "log-odds"  # tail exponential in log(s / (1 − s)); scores must lie in (0, 1)
_ODDS_EPS = 1e-12  # keeps log-odds finite at scores of exactly 0 or 1
DEFAULT_TARGET_FMR = 1e-4
DEFAULT_RESOURCE = "default_calibration.json"
# The calibration shipped before the default extractor joined two extractors' minutiae: made
# the same way for single-extractor templates (a quarter of the minutiae spurious, tail
# widened 1.3), whose impostors score lower than the fused templates'. Templates of the
# `gabor`, `student` and `leader` extractors are judged by it.
SINGLE_EXTRACTOR_RESOURCE = "single_extractor_calibration.json"
FUSED_EXTRACTOR_PREFIX = "fused-"


class CalibrationError(ValueError):
    """A calibration cannot be learned or read."""

    code = "calibration_invalid"


@dataclass(frozen=True)
class Decision:
    """One accept/reject decision with the evidence behind it."""

    score: float
    fmr: float  # the false match rate at this score (share of impostors scoring as high)
    threshold: float  # the score needed for the target FMR
    target_fmr: float
    match: bool

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "decision": "match" if self.match else "no_match"}


@dataclass(frozen=True)
class Calibration:
    """Piecewise log-linear empirical FMR plus an exponential tail above `tail_start`."""

    knot_scores: tuple[float, ...]  # ascending
    knot_log_fmr: tuple[float, ...]  # log10 FMR at each knot, descending
    tail_start: float  # score u where the tail model takes over
    tail_fmr: float  # FMR at u
    tail_scale: float  # mean excess over u: FMR(s) = tail_fmr · exp(−(s − u) / scale)
    impostors: int
    source: str
    created: str
    version: int = CALIBRATION_VERSION
    # Which variable the tail is exponential in (SCORE_TAIL or LOG_ODDS_TAIL); `tail_scale`
    # is measured in that variable.
    tail_space: str = SCORE_TAIL
    # Every reported FMR is this many times the fitted one (a safety margin, 1 = none).
    fmr_factor: float = 1.0

    def _tail_variable(self, score: float) -> float:
        if self.tail_space == LOG_ODDS_TAIL:
            return float(_log_odds(score))
        return score

    def fmr(self, score: float) -> float:
        """False match rate of a comparison scoring `score`."""
        if not np.isfinite(score):
            return 1.0 if score < 0 else FMR_FLOOR
        if score >= self.tail_start:
            excess = self._tail_variable(score) - self._tail_variable(self.tail_start)
            value = self.tail_fmr * float(np.exp(-excess / self.tail_scale))
        else:
            value = 10.0 ** float(np.interp(score, self.knot_scores, self.knot_log_fmr))
        return float(min(1.0, max(FMR_FLOOR, self.fmr_factor * value)))

    def threshold(self, target_fmr: float = DEFAULT_TARGET_FMR) -> float:
        """Lowest score whose FMR is at most `target_fmr`."""
        if not 0.0 < target_fmr <= 1.0:
            raise CalibrationError(f"target FMR {target_fmr} is not in (0, 1]")
        fitted = target_fmr / self.fmr_factor
        if fitted <= self.tail_fmr:
            z = self._tail_variable(self.tail_start) + self.tail_scale * float(
                np.log(self.tail_fmr / fitted)
            )
            return float(1.0 / (1.0 + np.exp(-z))) if self.tail_space == LOG_ODDS_TAIL else z
        # Knot log-FMRs descend; reverse them for np.interp (beyond the first knot, score 0).
        return float(np.interp(np.log10(fitted), self.knot_log_fmr[::-1], self.knot_scores[::-1]))

    def decide(self, score: float, target_fmr: float = DEFAULT_TARGET_FMR) -> Decision:
        """Match when the score reaches the threshold of the target FMR."""
        threshold = self.threshold(target_fmr)
        return Decision(
            score=float(score),
            fmr=self.fmr(score),
            threshold=threshold,
            target_fmr=target_fmr,
            match=bool(score >= threshold),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        try:
            raw = json.loads(text)
            if raw.get("version") != CALIBRATION_VERSION:
                raise CalibrationError(f"calibration version {raw.get('version')} unsupported")
            raw["knot_scores"] = tuple(raw["knot_scores"])
            raw["knot_log_fmr"] = tuple(raw["knot_log_fmr"])
            if raw.get("tail_space", SCORE_TAIL) not in (SCORE_TAIL, LOG_ODDS_TAIL):
                raise CalibrationError(f"unknown tail space {raw['tail_space']!r}")
            return cls(**raw)
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise CalibrationError(f"not a calibration file: {exc}") from exc

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())

    @classmethod
    def load(cls, path: Path) -> Calibration:
        return cls.from_json(path.read_text())


def _log_odds(score: float | np.ndarray) -> np.ndarray:
    clipped = np.clip(score, _ODDS_EPS, 1.0 - _ODDS_EPS)
    return np.log(clipped / (1.0 - clipped))


def fit(
    impostor_scores: ArrayLike,
    *,
    source: str,
    tail_space: str = SCORE_TAIL,
    fmr_factor: float = 1.0,
    tail_share: float = TAIL_SHARE,
) -> Calibration:
    """Learn the score → FMR mapping from impostor scores (−∞ for failed comparisons).

    `tail_space` chooses the tail model (module docstring); `fmr_factor` ≥ 1 is a safety
    margin multiplied into every reported FMR; `tail_share` is the top share of impostors the
    tail is fitted to: with hundreds of thousands of impostors (iris all-pairs protocols) the
    empirical FMR is resolved down to 1e-3 and below, and an exponential started at 5% over-
    states a near-Gaussian tail's FMR at 1e-4 tenfold.
    """
    if tail_space not in (SCORE_TAIL, LOG_ODDS_TAIL):
        raise CalibrationError(f"unknown tail space {tail_space!r}")
    if not fmr_factor >= 1.0:
        raise CalibrationError(f"FMR factor {fmr_factor} must be at least 1")
    s = np.sort(np.asarray(impostor_scores, dtype=np.float64))
    s = s[np.isfinite(s)]
    n = len(s)
    tail_n = max(MIN_TAIL, round(tail_share * n))
    if n < 2 * tail_n:
        raise CalibrationError(f"{n} impostor scores are too few; need at least {2 * tail_n}")
    u = float(s[n - tail_n - 1])
    top = s[n - tail_n :]
    excess = _log_odds(top) - _log_odds(u) if tail_space == LOG_ODDS_TAIL else top - u
    scale = max(float(excess.mean()), 1e-6)
    tail_fmr = tail_n / n
    # Knots at log-spaced FMR levels between 1 and the tail's start: FMR(s) = P(S ≥ s).
    levels = np.unique(np.round(np.geomspace(1.0, tail_fmr, 64), 12))[::-1]
    knot_scores = np.quantile(s, 1.0 - levels, method="inverted_cdf")
    knot_scores, first = np.unique(knot_scores, return_index=True)
    knot_log = np.log10(levels[first])
    return Calibration(
        knot_scores=tuple(float(v) for v in knot_scores),
        knot_log_fmr=tuple(float(v) for v in knot_log),
        tail_start=u,
        tail_fmr=float(tail_fmr),
        tail_scale=scale,
        impostors=n,
        source=source,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        tail_space=tail_space,
        fmr_factor=float(fmr_factor),
    )


def smallest_factor(
    calibration: Calibration,
    impostor_sets: Sequence[ArrayLike],
    targets: Sequence[float],
    *,
    within: float = 2.0,
    step: float = 0.1,
    limit: float = 100.0,
) -> float:
    """The smallest `fmr_factor` (a multiple of `step`, at least 1) with which `calibration`
    keeps its promise on every set: at each target FMR, each set's measured FMR is at most
    `within` times the claim.

    Why per set and not pooled: impostor pairs are not independent. A set of ten fingers
    holds 45 pairs of fingers, and a pair of look-alike fingers puts dozens of correlated
    impostor comparisons above a threshold at once, so a margin that is right on the pooled
    impostors still lets single sensors exceed the claim. Choose it on some sets and report
    it on the others (leave one set out) before trusting it on an unseen one.
    """
    sets = [np.asarray(s, dtype=np.float64) for s in impostor_sets]
    if not sets or any(len(s) == 0 for s in sets):
        raise CalibrationError("every set needs impostor scores")
    for k in range(round(1.0 / step), round(limit / step) + 1):
        factor = round(k * step, 10)
        trial = replace(calibration, fmr_factor=factor)
        thresholds = [trial.threshold(t) for t in targets]
        if all(
            float(np.mean(s >= th)) <= within * t
            for s in sets
            for t, th in zip(targets, thresholds, strict=True)
        ):
            return factor
    raise CalibrationError(f"no FMR factor up to {limit:g} keeps the promise on every set")


@cache
def _shipped(resource: str) -> Calibration:
    text = resources.files("matcher.fingerprint").joinpath("data", resource).read_text()
    return Calibration.from_json(text)


def default_calibration() -> Calibration:
    """The calibration shipped with the package for the default extractor's templates (made
    by `satupintu calibrate --synthetic`)."""
    return _shipped(DEFAULT_RESOURCE)


def calibration_for(extractor: str) -> Calibration:
    """The shipped calibration for templates made by `extractor` (an extractor name such as
    `gabor`, or the version string a template records): the default for the fused extractor
    and for templates of unknown origin, the single-extractor one for the others."""
    fused = extractor in ("", "fused") or extractor.startswith(FUSED_EXTRACTOR_PREFIX)
    return default_calibration() if fused else _shipped(SINGLE_EXTRACTOR_RESOURCE)


def load_calibration(path: Path | None = None) -> Calibration:
    """The calibration in `path`, or the shipped default when None."""
    return default_calibration() if path is None else Calibration.load(path)
