"""The recall curve the capacity model extrapolates: fitted from points, never improving with
the gallery."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from benchmarks.capacity import required_share
from benchmarks.coarse_recall import capped, fit, merged_rows


def _rows(a: float, b: float, c: float) -> list[dict[str, float]]:
    return [
        {
            "gallery": n,
            "scanned_share": s,
            "recall": 1 - math.exp(a + b * math.log(s) + c * math.log(n)),
        }
        for n in (1e5, 3e5, 1e6)
        for s in (0.005, 0.01, 0.02, 0.04)
    ]


def test_the_fit_recovers_a_curve_and_the_share_it_asks_for_grows_with_the_gallery() -> None:
    curve = fit(_rows(-12.0, -0.6, 0.4))
    assert curve["a"] == pytest.approx(-12.0)
    assert curve["b_log_share"] == pytest.approx(-0.6)
    assert curve["c_log_gallery"] == pytest.approx(0.4)
    assert required_share(curve, 1e6, 0.99) > required_share(curve, 1e5, 0.99)


def test_a_gallery_term_saying_recall_improves_with_size_is_dropped() -> None:
    curve = fit(_rows(-2.0, -0.6, -0.3))
    assert curve["c_log_gallery"] == 0.0 and curve["constrained"] == 1.0
    assert required_share(curve, 570e6, 0.99) == pytest.approx(required_share(curve, 1e5, 0.99))


def test_an_earlier_runs_rows_join_only_for_sizes_and_caps_not_measured_again() -> None:
    def row(n: int, cap: int | None, probed: int) -> dict[str, Any]:
        return {"gallery": n, "code_cap": cap, "probed_lists": probed, "recall": 0.9}

    earlier = {"rows": [row(100, 24, 8), row(1000, 24, 8), row(100, None, 8)]}
    rows = merged_rows([row(1000, 24, 8)], earlier, "old.json")
    assert [(r["gallery"], r.get("source")) for r in rows] == [(100, "old.json"), (1000, None)]


def test_a_capped_gallery_keeps_each_fingers_first_codes() -> None:
    codes = np.arange(9, dtype=np.uint8).reshape(9, 1)  # fingers of 4, 2 and 3 codes
    kept, counts = capped(codes, np.array([4, 2, 3]), 2)
    assert kept.ravel().tolist() == [0, 1, 4, 5, 6, 7] and counts.tolist() == [2, 2, 2]
    assert capped(codes, np.array([4, 2, 3]), None)[0] is codes
