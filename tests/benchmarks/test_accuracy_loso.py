"""Accuracy benchmark arithmetic: operating points and the leave-one-set-out tables."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks import tune_extract
from benchmarks.accuracy import leave_one_out, operating_points
from benchmarks.cli import bench_app
from matcher.evaluation.harness import DatabaseResult
from matcher.evaluation.metrics import error_rates


def _result(name: str, genuine: np.ndarray, impostor: np.ndarray) -> DatabaseResult:
    rates = error_rates(genuine, impostor)
    return DatabaseResult(
        name=name,
        modality="fingerprint",
        samples=80,
        failures={},
        genuine=genuine,
        impostor_fvc=impostor[:45],
        impostor_all=impostor,
        fvc=rates,
        allpairs=rates,
        load_seconds=1.0,
        compare_seconds=1.0,
    )


def test_operating_points_use_the_calibration_threshold_not_the_data() -> None:
    genuine = np.array([0.05, 0.2, 0.3, 0.4])
    impostor = np.array([0.0] * 998 + [0.25, 0.5])
    points = operating_points(
        _result("a", genuine, impostor), lambda fmr: 0.1 if fmr > 5e-4 else 0.35
    )
    assert points["fnmr_at_fmr_1e-3"] == pytest.approx(0.25)
    assert points["fmr_measured_at_1e-3"] == pytest.approx(2e-3)
    assert points["fnmr_at_fmr_1e-4"] == pytest.approx(0.75)
    assert points["fmr_measured_at_1e-4"] == pytest.approx(1e-3)


def test_a_sensor_whose_impostors_score_higher_is_exposed_when_held_out() -> None:
    rng = np.random.default_rng(0)
    genuine = rng.uniform(0.3, 0.9, 280)
    calm = [_result(f"s{i}", genuine, rng.beta(1, 60, 3000)) for i in range(3)]
    loud = _result("loud", genuine, rng.beta(1, 15, 3000))
    rows = {r["held_out"]: r for r in leave_one_out([*calm, loud])}
    assert set(rows) == {"s0", "s1", "s2", "loud"}
    # Tuned on the calm sensors, the threshold keeps its promise there ...
    assert rows["loud"]["tuned_fmr_measured_at_1e-3"] < 3e-3
    # ... and breaks it on the sensor it never saw.
    assert rows["loud"]["fmr_measured_at_1e-3"] > 5 * rows["loud"]["tuned_fmr_measured_at_1e-3"]
    assert leave_one_out(calm[:2]) == []


def test_tuning_reports_the_choice_of_the_other_sets_on_the_held_out_one() -> None:
    def row(eer: float) -> dict[str, float]:
        return {"eer_allpairs": eer, "fmr1000_allpairs": eer}

    measured = {
        "default": {"a": row(0.02), "b": row(0.02), "c": row(0.02)},
        # Best on a and b, worst on c: chosen when c is held out, and c shows the loss.
        "narrow": {"a": row(0.01), "b": row(0.01), "c": row(0.10)},
    }
    rows = {r["held_out"]: r for r in tune_extract.leave_one_out(measured, ["a", "b", "c"])}
    assert rows["c"]["chosen"] == "narrow"
    assert rows["c"]["held_out_chosen"]["eer_allpairs"] == 0.10
    assert rows["c"]["held_out_default"]["eer_allpairs"] == 0.02
    assert rows["a"]["chosen"] == "default"


def test_tune_extract_command_writes_the_leave_one_out_table(tmp_path: Path) -> None:
    out = tmp_path / "tune.json"
    run = CliRunner().invoke(
        bench_app,
        ["--out", str(tmp_path), "tune-extract", "synthetic:4x3", "synthetic:5x3",
         "synthetic:4x4", "--only", "max minutiae 60", "--processes", "1", "--json", str(out)],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    doc = json.loads(out.read_text())
    assert set(doc["candidates"]) == {"default", "max minutiae 60"}
    assert [r["held_out"] for r in doc["leave_one_out"]] == doc["databases"]
    assert len(doc["databases"]) == 3
    assert "| held out |" in (tmp_path / "tune_extract.md").read_text()
    bad = CliRunner().invoke(
        bench_app, ["--out", str(tmp_path), "tune-extract", "synthetic:4x3", "--only", "nonsense"]
    )
    assert bad.exit_code != 0
