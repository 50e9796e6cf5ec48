"""`satupintu bench iris-report`: an end-to-end run on a small synthetic set of eye images."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from benchmarks.cli import bench_app
from benchmarks.iris_report import CLAIMED_FMR, SetRun, held_out_folds, within_2x
from benchmarks.iris_tune import combinations, parse_grid
from matcher.synthetic.iris import OCCLUDED, encode_png, render_eye


def _write_set(folder: Path) -> Path:
    folder.mkdir()
    for eye in range(4):
        for capture in range(2):
            name = f"{eye + 1:02d}_{capture + 1}.png"
            (folder / name).write_bytes(encode_png(render_eye(20 + eye, capture).image))
    # One mostly closed eye: refused, and it must show as a failed genuine pair.
    (folder / "05_1.png").write_bytes(encode_png(render_eye(30, 0, OCCLUDED).image))
    (folder / "05_2.png").write_bytes(encode_png(render_eye(30, 1).image))
    return folder


def test_report_writes_figures_plots_and_a_contact_sheet(tmp_path: Path) -> None:
    data = _write_set(tmp_path / "eyes")
    out = tmp_path / "out"
    first = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(out),
            "iris-report",
            str(data),
            "--label",
            "one",
            "--json",
            str(tmp_path / "one.json"),
        ],
    )
    assert first.exit_code == 0, first.output
    result = json.loads((tmp_path / "one.json").read_text())
    row = result["databases"][0]
    for key in ("eer", "fte", "fnmr_at_fmr_1e-4", "d_prime"):
        assert key in row
    assert row["images"] == 10 and row["genuine"] == 5 and row["impostor"] == 40
    assert row["fte"] == 0.1 and row["refusals"] == {"iris_eye_closed": 1}
    assert row["histogram_genuine"]["failed"] == 1
    assert row["d_prime"] > 3
    sheet = cv2.imread(str(out / row["contact_sheet"]))
    assert sheet is not None and sheet.shape[1] == 6 * 320
    # The refused pair comes first: its tile carries the reason in red.
    label = sheet[240:274, :320]
    assert (label[:, :, 2].astype(int) - label[:, :, 0] > 100).any()
    # A second run draws the first as "before".
    second = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(out),
            "iris-report",
            str(data),
            "--label",
            "two",
            "--before",
            str(tmp_path / "one.json"),
            "--tuned-on",
            "eyes",
        ],
    )
    assert second.exit_code == 0, second.output
    again = json.loads((out / "two.json").read_text())
    assert again["databases"][0]["tuned_on"] is True
    assert again["eer_max_held_out"] is None
    assert np.isclose(again["databases"][0]["eer"], row["eer"])
    assert (out / again["databases"][0]["plot"]).stat().st_size > 10_000


def test_accuracy_command_reports_fnmr_at_1e4_and_d_prime_for_iris(tmp_path: Path) -> None:
    data = _write_set(tmp_path / "eyes")
    result = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(tmp_path / "out"),
            "accuracy",
            str(data),
            "--modality",
            "iris",
            "--processes",
            "1",
            "--json",
            str(tmp_path / "acc.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "acc.json").read_text())
    # The refused eye's genuine pair is a certain non-match: 1 of 5 genuine pairs.
    assert np.isclose(figures["fnmr_at_fmr_1e-4"], 0.2)
    assert figures["d_prime"] > 3
    assert figures["databases"][0]["d_prime"] == figures["d_prime"]


def _scores_run(name: str, impostor_mean: float, seed: int) -> SetRun:
    rng = np.random.default_rng(seed)
    return SetRun(
        name=name,
        paths=[],
        eye=np.zeros(0, np.int64),
        templates=[],
        failures={},
        extract_ms=[],
        genuine=rng.normal(0.8, 0.05, 2_000),
        impostor=rng.normal(impostor_mean, 0.02, 200_000),
        genuine_pairs=[],
    )


def test_leave_one_set_out_calibration_is_checked_on_the_held_out_set() -> None:
    alike = [_scores_run(f"s{k}", 0.55, k) for k in range(3)]
    folds = held_out_folds(alike)
    assert [f["held_out"] for f in folds] == ["s0", "s1", "s2"]
    assert folds[0]["fitted_on"] == ["s1", "s2"]
    # Same impostor distribution everywhere: the claim holds on every held-out set.
    assert all(f["within_2x"] for f in folds), [f["measured_fmr"] for f in folds]
    # A set whose impostors score higher breaks the claim learned on the others, and the
    # others' claim learned with it is too cautious on them.
    shifted = [*alike[:2], _scores_run("heavy", 0.57, 9)]
    by_set = {f["held_out"]: f for f in held_out_folds(shifted)}
    assert by_set["heavy"]["measured_fmr"] > 2 * CLAIMED_FMR
    assert not by_set["heavy"]["within_2x"]
    assert by_set["heavy"]["fnmr_at_claimed"] <= by_set["s0"]["fnmr_at_claimed"]


def test_within_2x_is_two_sided() -> None:
    assert within_2x(CLAIMED_FMR) and within_2x(1.9 * CLAIMED_FMR)
    assert within_2x(0.6 * CLAIMED_FMR)
    assert not within_2x(2.5 * CLAIMED_FMR)
    assert not within_2x(0.3 * CLAIMED_FMR)


def test_tuning_chooses_on_the_other_sets_and_reports_the_held_out_one(tmp_path: Path) -> None:
    first = _write_set(tmp_path / "first")
    second = tmp_path / "second"
    second.mkdir()
    for eye in range(3):
        for capture in range(2):
            image = render_eye(40 + eye, capture).image
            (second / f"{eye + 1:02d}_{capture + 1}.png").write_bytes(encode_png(image))
    result = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(tmp_path / "out"),
            "iris-tune",
            str(first),
            str(second),
            "--grid",
            "max_shift=8,16",
            "--json",
            str(tmp_path / "tune.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "tune.json").read_text())
    assert [c["params"] for c in data["combinations"]] == [{"max_shift": 8}, {"max_shift": 16}]
    assert [c["is_default"] for c in data["combinations"]] == [False, True]
    folds = {f["held_out"]: f for f in data["folds"]}
    assert folds["first"]["tuned_on"] == ["second"]
    chosen = next(c for c in data["combinations"] if c["params"] == folds["first"]["chosen"])
    assert folds["first"]["held_out_figures"] == chosen["sets"]["first"]
    assert np.isclose(folds["first"]["held_out_figures"]["fte"], 0.1)
    rows = (tmp_path / "out" / "iris_tune.md").read_text().splitlines()
    assert sum(row.startswith("| first | second |") for row in rows) == 1
    # Each combination carries the held-out calibration check, one table row each.
    assert all(isinstance(c["held_out_calibration"], dict) for c in data["combinations"])
    assert "## Calibration held out" in rows
    assert sum(row.startswith("| `{'max_shift'") for row in rows) == 2


def test_a_grid_names_only_iris_parameters() -> None:
    assert parse_grid(["wavelength=12,14"]) == {"wavelength": [12.0, 14.0]}
    assert parse_grid(["max_shift=4"]) == {"max_shift": [4]}
    with pytest.raises(typer.BadParameter):
        parse_grid(["no_such_field=1"])


def test_grid_combinations_pair_each_name_with_its_own_values() -> None:
    # Names given out of alphabetical order keep their own values.
    grid = parse_grid(["max_shift=8,16", "correlation_exponent=0,0.2"])
    combos = combinations(grid)
    assert len(combos) == 4
    assert {c["max_shift"] for c in combos} == {8, 16}
    assert {c["correlation_exponent"] for c in combos} == {0.0, 0.2}
