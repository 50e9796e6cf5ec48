"""Cross-vendor scoring: records of one extractor against probes of another."""

from __future__ import annotations

import numpy as np

from benchmarks.cross_vendor import cross_scores, row
from matcher.fingerprint.compare import prepare
from matcher.synthetic.minutiae import impression, master


def test_same_finger_pairs_are_genuine_and_failed_samples_score_zero() -> None:
    fingers = [master(70_000 + f) for f in range(2)]
    templates = [prepare(impression(f, seed=k)) for f in fingers for k in range(2)]
    identities = ["a", "a", "b", "b"]
    genuine, impostor = cross_scores(templates, templates, identities)
    assert len(genuine) == 4 and len(impostor) == 8
    assert genuine.min() > impostor.max()
    failed = [None, *templates[1:]]
    genuine, impostor = cross_scores(failed, templates, identities)
    assert genuine[0] == 0.0 and genuine[1] > 0.0  # only the failed record scores nothing
    figures = row("db", "student", genuine, impostor)
    assert figures["genuine"] == 4 and figures["fnmr_at_fmr_1e-3"] >= 0.25
    assert 0.0 <= figures["eer"] <= 1.0 and np.isfinite(figures["fmr_measured_at_1e-3"])
