"""Learning the fingerprint codes' whitening from seeded synthetic fingers.

Run by `satupintu index whitening` to make the shipped file, and by benchmarks and tests that
try encoder parameters other than the shipped ones; the gateway never runs it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from matcher.index.local_codes import (
    LocalCodeEncoder,
    LocalCodeParams,
    described_minutiae,
    whitening_key,
)
from matcher.index.whitening import CodeWhitening, WhiteningMismatch, shipped_whitening
from matcher.synthetic.minutiae import impression, master


def recipe(params: LocalCodeParams) -> str:
    """How the data was made, for the manifest."""
    return (
        f"two seeded synthetic impressions (matcher.synthetic.minutiae) of each of "
        f"{params.training_fingers} fingers from seed {params.seed}; mean of the first "
        f"impressions' descriptors; WCCN of mated minutiae's differences, ridge "
        f"{params.whitening_ridge}"
    )


def encoder_for(params: LocalCodeParams) -> LocalCodeEncoder:
    """An encoder with the shipped whitening when it fits `params`, else one learned now."""
    try:
        return LocalCodeEncoder(params, shipped_whitening(whitening_key(params)))
    except WhiteningMismatch:
        return LocalCodeEncoder(params, learn_whitening(params))


def learn_whitening(params: LocalCodeParams) -> CodeWhitening:
    """The population mean and the whitening, from two impressions of each training finger
    (the generator says which minutia is which, so mated descriptors pair exactly)."""
    first_rows, mate_differences = [], []
    for k in range(params.training_fingers):
        finger = master(params.seed + k)
        first, second = impression(finger, seed=params.seed - k), impression(finger, seed=k)
        da, rows_a = described_minutiae(first, params)
        db, rows_b = described_minutiae(second, params)
        source_a = np.asarray(first.extras["source"])[rows_a]
        source_b = np.asarray(second.extras["source"])[rows_b]
        real_a, real_b = np.flatnonzero(source_a >= 0), np.flatnonzero(source_b >= 0)
        _, ia, ib = np.intersect1d(
            source_a[real_a], source_b[real_b], assume_unique=True, return_indices=True
        )
        first_rows.append(da)
        mate_differences.append(db[real_b[ib]] - da[real_a[ia]])
    mean = np.concatenate(first_rows).mean(axis=0)
    return CodeWhitening(mean, wccn(np.concatenate(mate_differences), params.whitening_ridge))


def wccn(mate_differences: NDArray[np.float64], ridge: float | None) -> NDArray[np.float64] | None:
    """Within-finger whitening (WCCN, Hatch et al. 2006): W = (S + ridge·I)^(-1/2), S the
    covariance of a minutia's descriptor between impressions, scaled to mean eigenvalue 1.

    Why: SimHash keeps the angle between centred descriptors, and much of that angle's
    spread between mates lies in a few directions (neighbours near the disc's rim come and
    go with the contact; neighbouring direction sections blur into each other). Shrinking
    those directions before the projection lets mates' codes agree on more of the bits that
    tell fingers apart. None: no whitening.

    Measured on the synthetic generator (600 mates, voting only, shortlist 300): 10k fingers
    in a flat index, mate voted first 0.957 plain → 0.992 (ridge 0.1) → 0.997 (ridge 1); 100k
    in IVF 4096/128, mate in the shortlist 0.985 (ridge 0.1), 0.993 (ridge 1). Per code, a
    minutia's mate code within the 100 nearest of 70k codes: 0.77 plain, 0.83 (0.1), 0.84 (1),
    0.84 (2), 0.82 (10); a large ridge tends back to the plain projection.
    """
    if ridge is None:
        return None
    within = mate_differences.T @ mate_differences / (2.0 * len(mate_differences))
    within /= np.trace(within) / len(within)
    values, vectors = np.linalg.eigh(within)
    whitening: NDArray[np.float64] = (
        vectors * (np.maximum(values, 0.0) + ridge) ** -0.5
    ) @ vectors.T
    return whitening
