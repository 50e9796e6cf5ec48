"""`satupintu-bench compare`: the measurement loop and its JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from benchmarks.cli import bench_app
from benchmarks.compare import measure
from matcher.fingerprint.compare import prepare
from matcher.synthetic.minutiae import impression, master


def test_measure_counts_every_pair_and_reports_rates() -> None:
    templates = [prepare(impression(master(s), seed=1)) for s in range(4)]
    row = measure(templates, seconds=0.05)
    assert row["comparisons"] % 16 == 0 and row["comparisons"] >= 16
    assert row["compare_per_second"] > 0 and row["us_per_compare"] > 0
    assert row["cylinders_mean"] > 10


def test_bench_compare_writes_json(tmp_path: Path) -> None:
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    out = tmp_path / "compare.json"
    try:
        run = CliRunner().invoke(
            bench_app,
            [
                "--out",
                str(tmp_path),
                "compare",
                "--templates",
                "3",
                "--seconds",
                "0.1",
                "--json",
                str(out),
            ],
        )
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)  # the command pins the process to one core
    assert run.exit_code == 0, run.output
    doc = json.loads(out.read_text())
    assert doc["target"] == 20_000 and doc["rows"][0]["source"] == "synthetic"
