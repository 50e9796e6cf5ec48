"""`satupintu bench iris-speed`: wall and CPU time per image on synthetic eyes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from benchmarks.cli import bench_app


def test_speed_reports_cpu_time_beside_wall_time(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    result = CliRunner().invoke(
        bench_app, ["--out", str(tmp_path), "iris-speed", "synthetic:4", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text())
    assert figures["images"] == 4 and figures["failures"] == 0
    # One thread's CPU time cannot much exceed the wall time it ran in.
    assert 0 < figures["cpu_median_ms"] <= 1.5 * figures["median_ms"]
    assert figures["cpu_p95_ms"] >= figures["cpu_median_ms"]
    # The correction's factors are timed apart from the comparison kernel they feed.
    assert figures["correlation_factors_per_s"] > 0
