"""The calibration-margin benchmark: margins chosen without the set they are judged on."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.calibration_margin import (
    _hull_area,
    count_slope,
    covariates,
    figures,
    margin_report,
    scores_by_set,
)
from matcher.fingerprint.calibration import LOG_ODDS_TAIL, default_calibration, fit

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
    # The sensor whose look-alike fingers broke the promise under the earlier margin.
    assert figures(default_calibration(), genuine, impostor)["kept"]
    found = covariates(archive)["DB1_B"]
    assert found["image_width"] == found["image_height"] == 300
    assert 1 <= len(found["top10_impostor_finger_pairs"]) <= 10


def test_count_slope_recovers_how_impostor_log_odds_grow_with_minutiae() -> None:
    rng = np.random.default_rng(8)
    counts = rng.integers(20, 120, 40_000).astype(np.float64)
    log_odds = -5.0 + 1.5 * np.log(counts / 50.0) + rng.exponential(0.5, counts.size)
    scores = 1.0 / (1.0 + np.exp(-log_odds))
    assert count_slope(scores, counts) == pytest.approx(1.5, abs=0.15)
    assert count_slope(rng.permutation(scores), counts) == pytest.approx(0.0, abs=0.2)


def test_hull_area_of_a_square_with_inner_points() -> None:
    x = np.array([0.0, 10.0, 10.0, 0.0, 5.0, 2.0])
    y = np.array([0.0, 0.0, 10.0, 10.0, 5.0, 7.0])
    assert _hull_area(x, y) == pytest.approx(100.0)
    assert _hull_area(x[:2], y[:2]) == 0.0


def _archive(path: Path) -> None:
    """A small pair-scores archive: three sets of four templates (two fingers, two each)."""
    rng = np.random.default_rng(9)
    names = [f"set{k}" for k in range(3) for _ in range(4)]
    counts = np.full(12, 30)
    pair_i, pair_j = [], []
    for first in range(0, 12, 4):
        for i in range(first, first + 4):
            pair_i += [i] * (first + 3 - i)
            pair_j += list(range(i + 1, first + 4))
    identity = np.array(["1", "1", "2", "2"] * 3)
    genuine = identity[pair_i] == identity[pair_j]
    np.savez(
        path,
        database=np.array(names),
        identity=identity,
        width=np.full(12, 300),
        height=np.full(12, 400),
        image_quality=np.full(12, 70),
        cylinders=counts,
        fused_start=np.concatenate([[0], np.cumsum(counts)]),
        fused_x=rng.uniform(0, 300, 360),
        fused_y=rng.uniform(0, 400, 360),
        pair_i=np.array(pair_i),
        pair_j=np.array(pair_j),
        genuine=genuine,
        score=np.where(genuine, 0.6, rng.uniform(0.0, 0.01, len(pair_i))),
    )


def test_the_command_writes_margins_and_covariates(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from benchmarks.cli import bench_app

    archive = tmp_path / "pairs.npz"
    _archive(archive)
    run = CliRunner().invoke(
        bench_app, ["--out", str(tmp_path), "calibration-margin", str(archive)]
    )
    assert run.exit_code == 0, run.output
    report = json.loads((tmp_path / "calibration_margin.json").read_text())
    assert [r["held_out"] for r in report["leave_one_out"]] == ["set0", "set1", "set2"]
    assert report["factor_on_all_sets"] == 1.0  # impostors far below every threshold
    found = report["covariates"]["set1"]
    assert found["minutiae_mean"] == 30 and found["image_width"] == 300
    assert found["top10_impostor_finger_pairs"] == ["1x2"]
    assert 0 < found["density_per_10k_px2"] < 1e4 * 30 / (300 * 400) * 2
