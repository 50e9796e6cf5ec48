"""`satupintu-bench load` end to end, briefly: Locust's signed agents against a real gateway.

Small on purpose (two households, two terminals, a few seconds): it proves the parts fit
(RFC 9421 signatures made for FastHttpUser, sealed captures, payouts, the ops console, the
SLO gate's exit code, the reports), not the throughput, which the benchmark itself measures.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.cli import bench_app


@pytest.mark.slow
def test_a_short_mixed_load_run_has_no_unexpected_errors(tmp_path: Path) -> None:
    summary_file = tmp_path / "summary.json"
    result = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(tmp_path),
            "load",
            "--households",
            "2",
            "--users",
            "2",
            "--step-users",
            "1",
            "--step-seconds",
            "4",
            "--seconds",
            "14",
            "--p99-ms",
            "60000",
            "--flow-p99-ms",
            "60000",
            "--json",
            str(summary_file),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_file.read_text())
    assert summary["errors"] == 0, summary["failures"]
    assert summary["slo_passed"]
    names = {e["name"] for e in summary["endpoints"]}
    assert {"/v1/verify [1:1]", "/v1/payouts", "/readyz"} <= names
    assert summary["payouts"] >= 1
    for report in summary["reports"].values():
        assert (tmp_path / report).stat().st_size > 0


@pytest.mark.slow
def test_the_slo_gate_fails_a_run_that_breaks_it(tmp_path: Path) -> None:
    """An impossible p99 limit must turn into a non-zero exit code (and still write reports).
    Run with the verify-only profile, which must then send nothing but 1:1 verifications."""
    result = CliRunner().invoke(
        bench_app,
        [
            "--out",
            str(tmp_path),
            "load",
            "--profile",
            "verify",
            "--households",
            "1",
            "--users",
            "1",
            "--seconds",
            "6",
            "--p99-ms",
            "0.001",
        ],
    )
    assert result.exit_code == 1, result.output
    summary = json.loads((tmp_path / "load_verify_sqlite.json").read_text())
    assert not summary["slo_passed"]
    # Besides the gateway key each terminal fetches once at start.
    assert {e["name"] for e in summary["endpoints"]} == {"/v1/verify [1:1]", "/v1/keys/biometric"}
    assert summary["p99_ms"] > 0
