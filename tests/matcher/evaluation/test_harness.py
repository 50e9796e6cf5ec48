"""The harness end to end on a small synthetic database of ISO records, and on FVC2002."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from benchmarks.accuracy import write_synthetic
from benchmarks.cli import bench_app
from matcher.evaluation.dataset import discover
from matcher.evaluation.fingerprint import FingerprintModality
from matcher.evaluation.harness import average, evaluate
from matcher.evaluation.modality import Modality
from matcher.evaluation.registry import UnknownModality, create_modality


def test_synthetic_iso_database_separates_and_counts_pairs(tmp_path: Path) -> None:
    root = write_synthetic(tmp_path, fingers=6, impressions=3)
    (root / "7_1.iso").write_bytes(b"FMR\x00 20\x00garbage")  # a corrupt record: FTE
    [db] = discover(root, FingerprintModality().suffixes)
    seen: dict[str, int] = {}
    result = evaluate(
        FingerprintModality(),
        db,
        processes=1,
        progress=lambda s, n: seen.update({s: seen.get(s, 0) + n}),
    )
    assert result.samples == 19 and list(result.failures) == ["7_1.iso"]
    assert result.fte == pytest.approx(1 / 19)
    assert result.fvc.genuine == 6 * 3 and result.fvc.impostor == 21
    assert result.allpairs.impostor == 19 * 18 // 2 - 18
    assert result.allpairs.eer == 0.0
    assert seen == {"load": 19, "compare": 19 * 18 // 2}
    row = average([result, result])
    assert row["eer"] == result.fvc.eer and row["genuine"] == 36


def test_modality_registry() -> None:
    assert isinstance(create_modality("fingerprint"), Modality)
    with pytest.raises(UnknownModality):
        create_modality("no_such_engine")


def test_bench_accuracy_command_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    run = CliRunner().invoke(
        bench_app,
        ["--out", str(tmp_path), "accuracy", "synthetic:5x3", "--json", str(out),
         "--processes", "1"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    doc = json.loads(out.read_text())
    for key in (
        "eer",
        "fmr100",
        "fmr1000",
        "zerofmr",
        "eer_allpairs",
        "fte",
        "genuine",
        "impostor",
    ):
        assert key in doc
    assert doc["genuine"] == 15 and doc["impostor"] == 10
    checks = doc["calibration_check"]
    assert [c["target_fmr"] for c in checks] == [1e-2, 1e-3, 1e-4]
    assert all(c["impostors"] == doc["impostor_allpairs"] for c in checks)
    assert (tmp_path / "accuracy_fingerprint_synthetic_5x3_det.png").stat().st_size > 1000
    assert (tmp_path / "accuracy_fingerprint_synthetic_5x3.md").read_text().count("|") > 10


def test_bench_accuracy_versus_a_second_extractor_plots_both_per_database(
    tmp_path: Path,
) -> None:
    out = tmp_path / "result.json"
    run = CliRunner().invoke(
        bench_app,
        ["--out", str(tmp_path), "accuracy", "synthetic:4x3", "--json", str(out),
         "--processes", "1", "--no-peer", "--versus", "student"],
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    doc = json.loads(out.read_text())
    assert doc["versus"]["extractor"] == "student"
    assert [r["database"] for r in doc["versus"]["databases"]] == ["synthetic_4x3"]
    (plot,) = doc["versus"]["plots"]
    assert (tmp_path / plot).stat().st_size > 1000
    refused = CliRunner().invoke(bench_app, ["accuracy", "synthetic:2x2", "--versus", "nbis"])
    assert refused.exit_code != 0 and "nbis" in refused.output


@pytest.mark.shared
@pytest.mark.slow
def test_fvc2002_db1_genuine_beats_impostor(shared_dir: Path) -> None:
    [db] = discover(shared_dir / "datasets" / "fvc2002" / "DB1_B", FingerprintModality().suffixes)
    result = evaluate(FingerprintModality(), db, processes=2)
    assert result.fte < 0.05
    assert result.fvc.eer < 0.10
