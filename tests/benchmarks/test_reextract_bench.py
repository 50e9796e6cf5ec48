"""The re-extraction benchmark: a small image-enrolled gallery moved to the student network,
a verifier timed beside it, and a second run that finds nothing to do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks import output
from benchmarks.cli import bench_app

pytest.importorskip("onnxruntime")


def test_the_gallery_moves_and_a_second_run_does_nothing(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    result = CliRunner().invoke(
        bench_app,
        ["--out", str(tmp_path), "reextract", "--people", "3", "--batch", "2", "--json", str(out)],
    )
    output.choose(None)
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["extractor"] == "student-onnx/1" and figures["database"] == "sqlite"
    assert figures["templates_replaced"] == 2 * figures["enrolled"] > 0
    assert figures["needs_reenrolment"] == 0 and figures["second_run_replaced"] == 0
    assert figures["verify_beside_run"]["n"] >= 1 and figures["verify_alone"]["n"] == 200
    assert (tmp_path / "reextract_student-onnx-1_sqlite.json").exists()
