"""The fusion-rules benchmark judges each set with a threshold fitted on the others only."""

from __future__ import annotations

import numpy as np

from benchmarks.fusion_rules import leave_one_out


def test_a_set_whose_genuine_scores_sit_below_the_others_threshold_counts_them_all() -> None:
    rng = np.random.default_rng(3)
    impostors = rng.uniform(0.0, 0.1, 2000)
    per_set = {
        "a": (np.full(50, 0.9), impostors),
        "b": (np.full(50, 0.9), impostors),
        # its own impostors are far higher, so a threshold fitted on it would reject all
        "c": (np.full(50, 0.5), rng.uniform(0.4, 0.95, 2000)),
    }
    result = leave_one_out(per_set)
    rows = result["databases"]
    assert rows["c"]["fnmr"] == 0.0  # judged by a and b's threshold, which 0.5 clears
    assert rows["a"]["fnmr"] == 1.0  # c's high impostors push a's threshold above 0.9
    assert result["loso_fnmr_at_fmr_1e-3"] == np.mean([r["fnmr"] for r in rows.values()])
