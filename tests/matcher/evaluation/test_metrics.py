"""Error-rate arithmetic on hand-made score lists."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.evaluation.metrics import check_calibration, error_curve, error_rates


def test_separable_scores_have_zero_error() -> None:
    r = error_rates([0.8, 0.9, 1.0], [0.1, 0.2, 0.3])
    assert (r.eer, r.fmr100, r.fmr1000, r.zerofmr) == (0.0, 0.0, 0.0, 0.0)
    assert (r.genuine, r.impostor) == (3, 3)


def test_exact_crossing_gives_the_shared_rate() -> None:
    # At t = 0.5 one of four impostors is accepted and one of four genuines rejected.
    r = error_rates([0.4, 0.7, 0.8, 0.9], [0.1, 0.2, 0.3, 0.5])
    assert r.eer == pytest.approx(0.25)
    assert r.eer_threshold == pytest.approx(0.5)
    # No impostor passes above 0.5; the cheapest such threshold (0.7) loses the 0.4 genuine.
    assert r.zerofmr == pytest.approx(0.25)


def test_fvc_interval_midpoint_when_curves_do_not_meet() -> None:
    # FMR stays 1/2 until t > 5 while FNMR climbs 0, 1/3, 2/3, 1: FVC's EER is the middle of
    # [FNMR(t1), FMR(t1)] = [1/3, 1/2] at t1 = 2.
    r = error_rates([1, 2, 3], [0, 5])
    assert r.eer == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert r.zerofmr == 1.0


def test_fmr100_and_fmr1000_pick_the_lowest_fnmr_under_the_bound() -> None:
    impostor = [i / 1000 for i in range(1000)]  # FMR(t) = share of these ≥ t
    genuine = [0.985, 0.995, 0.9995, 2.0]
    r = error_rates(genuine, impostor)
    assert r.fmr100 == pytest.approx(0.25)  # t = 0.990 lets 10 impostors in, loses 0.985
    assert r.fmr1000 == pytest.approx(0.5)  # t = 0.999 lets 1 in, loses 0.985 and 0.995
    assert r.zerofmr == pytest.approx(0.5)  # t = 0.9995 lets none in, loses the same two


def test_curve_reaches_zero_fmr_and_failed_scores_count_as_rejections() -> None:
    curve = error_curve([float("-inf"), 0.9], [0.1, float("-inf")])
    assert curve.fmr[-1] == 0.0 and curve.fnmr[-1] == 1.0
    # The failed genuine is always rejected: FNMR ≥ 1/2 once t > −∞; FVC's midpoint of
    # [FMR, FNMR] = [0, 1/2] at t = 0.9.
    assert error_rates([float("-inf"), 0.9], [0.1]).eer == pytest.approx(0.25)


def test_calibration_check_counts_impostors_at_the_claimed_thresholds() -> None:
    impostor = np.arange(1000) / 1000.0  # FMR(t) = 1 − t exactly
    checks = check_calibration(lambda fmr: 1.0 - fmr, impostor, (1e-1, 1e-2))
    assert [c.impostors_above for c in checks] == [100, 10]
    assert checks[1].measured_fmr == pytest.approx(0.01)
    assert checks[0].as_dict()["threshold"] == pytest.approx(0.9)
    optimistic = check_calibration(lambda fmr: 1.0 - 10 * fmr, impostor, (1e-2,))
    assert optimistic[0].measured_fmr > optimistic[0].target_fmr
