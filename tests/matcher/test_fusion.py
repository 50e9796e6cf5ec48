"""Cross-modality fusion: calibrated FMRs combined by Fisher's method."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.fingerprint.calibration import fit
from matcher.fingerprint.fusion import FusionError
from matcher.fusion import FusionUncalibrated, ModalScore, default_calibrations, fuse_modalities


@pytest.fixture
def calibrations() -> dict[str, object]:
    rng = np.random.default_rng(0)
    return {
        "fingerprint": fit(rng.normal(0.1, 0.05, 20_000), source="test fingerprint"),
        "iris": fit(1.0 - rng.normal(0.5, 0.03, 20_000), source="test iris"),
    }


def test_two_modalities_beat_either_alone(calibrations: dict) -> None:
    finger = ModalScore("fingerprint", 2, 0.28)
    iris = ModalScore("iris", 1, 0.62)
    alone_f = fuse_modalities([finger], calibrations)
    alone_i = fuse_modalities([iris], calibrations)
    both = fuse_modalities([finger, iris], calibrations)
    assert both.fmr < min(alone_f.fmr, alone_i.fmr)
    assert both.score > max(alone_f.score, alone_i.score)
    assert len(both.as_dict()["samples"]) == 2


def test_fused_fmr_is_calibrated_for_impostors(calibrations: dict) -> None:
    """For independent impostor samples the fused FMR is uniform: P(FMR ≤ t) ≈ t."""
    rng = np.random.default_rng(1)
    finger = rng.normal(0.1, 0.05, 4000)
    iris = 1.0 - rng.normal(0.5, 0.03, 4000)
    fused = np.array(
        [
            fuse_modalities(
                [ModalScore("fingerprint", 2, f), ModalScore("iris", 1, i)], calibrations
            ).fmr
            for f, i in zip(finger, iris, strict=True)
        ]
    )
    for t in (0.05, 0.2, 0.5):
        assert abs(np.mean(fused <= t) - t) < 0.03


def test_errors_are_typed(calibrations: dict) -> None:
    with pytest.raises(FusionError):
        fuse_modalities([], calibrations)
    with pytest.raises(FusionUncalibrated):
        fuse_modalities([ModalScore("face", 0, 0.9)], calibrations)


def test_shipped_calibrations_cover_both_modalities() -> None:
    cal = default_calibrations()
    assert set(cal) == {"fingerprint", "iris"}
    # An iris at Daugman's HD ≈ 0.25 is rare for an impostor; an unrelated eye (0.5) is not.
    assert cal["iris"].fmr(0.75) < 1e-5 < cal["iris"].fmr(0.5)
