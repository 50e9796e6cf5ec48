"""The mutation report counts what mutmut decided, scores only decided mutants, and lists
every survivor (a run cut short by its time box must not look better than it was)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from benchmarks.cli import bench_app
from benchmarks.mutation import report


def _meta(root: Path, source: str, codes: dict[str, int | None]) -> None:
    path = root / f"{source}.meta"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"exit_code_by_key": codes}))


def test_counts_score_and_survivors(tmp_path: Path) -> None:
    _meta(
        tmp_path,
        "gateway/payouts/ledger.py",
        {
            "ledger.x_post__mutmut_1": 1,
            "ledger.x_post__mutmut_2": 0,
            "ledger.x_post__mutmut_3": None,
        },
    )
    _meta(tmp_path, "matcher/fingerprint/compare.py", {"compare.x_score__mutmut_1": 36})
    payload, text = report(tmp_path)
    ledger = payload["files"]["gateway/payouts/ledger.py"]
    assert (ledger["mutants"], ledger["checked"], ledger["killed"]) == (3, 2, 1)
    assert (ledger["survived"], ledger["not_checked"], ledger["score"]) == (1, 1, 0.5)
    assert payload["files"]["matcher/fingerprint/compare.py"]["timeout"] == 1
    assert payload["totals"]["mutants"] == 4
    assert payload["totals"]["score"] == 0.5
    assert payload["survivors"] == ["ledger.x_post__mutmut_2"]
    assert "## ledger.x_post__mutmut_2" in text
    assert "ledger.x_post__mutmut_1" not in text.split("Survivors")[1]


def test_the_command_writes_the_report_to_the_results_directory(tmp_path: Path) -> None:
    mutants, out = tmp_path / "mutants", tmp_path / "out"
    _meta(mutants, "gateway/payouts/flow.py", {"flow.x_pay__mutmut_1": 1})
    result = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(out),
            "mutation",
            "--mutants",
            str(mutants),
            "--json",
            str(tmp_path / "m.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.json").read_text())["totals"]["killed"] == 1
    assert "gateway/payouts/flow.py" in (out / "mutation.txt").read_text()
