"""`satupintu-bench console`: a small register, every page timed, the JSON keys written."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from benchmarks.cli import bench_app
from benchmarks.console import PAGES


def test_every_page_is_timed_over_the_seeded_register(tmp_path: Path) -> None:
    summary = tmp_path / "console.json"
    answer = CliRunner().invoke(
        bench_app,
        ["--out", str(tmp_path / "out"), "console", "--households", "300", "--requests", "3",
         "--json", str(summary)],
    )  # fmt: skip
    assert answer.exit_code == 0, answer.output
    result = json.loads(summary.read_text())
    assert result["households"] == 300 and set(result["pages"]) == set(PAGES)
    assert result["p95_ms"] == max(p["p95_ms"] for p in result["pages"].values())
    assert result["met"] == (result["p95_ms"] <= result["target_p95_ms"])
    assert result["register_count_ms"] > 0
    assert (tmp_path / "out" / "console.json").exists()
