"""The calibration-margin benchmark: margins chosen without the set they are judged on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.calibration_margin import margin_report, scores_by_set
from matcher.fingerprint.calibration import LOG_ODDS_TAIL, fit

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "fvc2000"


def _odds(seed: int, n: int, shift: float = 0.0) -> np.ndarray:
    z = -5.0 + shift + np.random.default_rng(seed).exponential(0.6, n)
    return 1.0 / (1.0 + np.exp(-z))


def test_a_louder_sensor_held_out_is_judged_by_the_others_margin() -> None:
    base = fit(_odds(1, 200_000), source="odds", tail_space=LOG_ODDS_TAIL)
    genuine = np.full(100, 0.9)
    per_set = {
        "a": (genuine, _odds(2, 30_000)),
        "b": (genuine, _odds(3, 30_000)),
        "loud": (genuine, _odds(4, 30_000, shift=0.8)),
    }
    report = margin_report(per_set, base)
    rows = {r["held_out"]: r for r in report["leave_one_out"]}
    # Held out, the loud sensor gets the calm sensors' small margin and breaks the promise;
    # chosen on every set, the margin is the loud sensor's.
    assert rows["loud"]["factor"] < rows["a"]["factor"] == report["factor_on_all_sets"]
    assert not rows["loud"]["kept"] and rows["a"]["kept"]
    assert not report["loso_kept_everywhere"]
    assert rows["loud"]["fmr_ratio_1e-3"] > 2.0
    assert report["shipped_pooled"]["impostors"] == 90_000
    assert report["shipped"]["a"]["fnmr_at_fmr_1e-3"] == 0.0


def test_scores_are_grouped_by_the_database_of_each_pair(tmp_path: Path) -> None:
    archive = tmp_path / "pairs.npz"
    np.savez(
        archive,
        database=np.array(["x", "x", "y", "y"]),
        pair_i=np.array([0, 0, 2]),
        pair_j=np.array([1, 1, 3]),
        genuine=np.array([True, False, False]),
        score=np.array([0.5, 0.1, 0.2]),
    )
    per_set = scores_by_set(archive)
    assert list(per_set) == ["x", "y"]
    assert per_set["x"][0].tolist() == [0.5] and per_set["x"][1].tolist() == [0.1]
    assert per_set["y"][0].size == 0 and per_set["y"][1].tolist() == [0.2]


@pytest.mark.skipif(not SHARED.is_dir(), reason="FVC2000 not in ../shared")
def test_pair_scores_archive_of_a_real_set_feeds_the_margin(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from benchmarks.cli import bench_app

    archive = tmp_path / "pairs.npz"
    run = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(tmp_path),
            "pair-scores",
            str(SHARED / "DB1_B"),
            "--dpi",
            "500",
            "--archive",
            str(archive),
        ],
    )
    assert run.exit_code == 0, run.output
    with np.load(archive) as data:
        assert len(data["filename"]) == 80 and len(data["score"]) == 80 * 79 // 2
        assert (data["cylinders"] > 0).all()
        assert (data["cylinders"] <= np.diff(data["fused_start"])).all()
    genuine, impostor = scores_by_set(archive)["DB1_B"]
    assert len(genuine) == 280 and len(impostor) == 2880
