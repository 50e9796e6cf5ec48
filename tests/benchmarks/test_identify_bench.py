"""The identify benchmark's FNIR at a fixed FPIR, its summary of searches, its plot's series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks.identify import _code_generation, _fnir_at, summarise


def test_fnir_at_fpir_uses_the_non_mated_top_scores() -> None:
    nonmated_top = np.arange(1000, dtype=float) / 1000  # 0.000 … 0.999
    mated = np.array([0.5, 0.9975, 0.9985, 2.0])
    # FPIR 0.1%: one non-mated search in 1,000 may pass, so the threshold is the 2nd highest
    assert _fnir_at(mated, nonmated_top, 0.001) == 0.5
    assert _fnir_at(mated, nonmated_top, 0.01) == 0.25
    assert np.isnan(_fnir_at(mated, np.array([]), 0.001))


def test_summary_separates_real_and_synthetic_mates() -> None:
    rows: list[dict[str, Any]] = [
        {"ms": 10.0, "mate": 1, "real": False, "rank": 0.0, "rank1": True, "mate_score": 0.9,
         "top_score": 0.9},
        {"ms": 30.0, "mate": 2, "real": False, "rank": float("inf"), "rank1": False,
         "mate_score": -np.inf, "top_score": 0.1},
        {"ms": 20.0, "mate": 3, "real": True, "rank": 4.0, "rank1": True, "mate_score": 0.5,
         "top_score": 0.5},
        {"ms": 5.0, "mate": None, "real": False, "rank": float("inf"), "rank1": False,
         "mate_score": -np.inf, "top_score": 0.05},
    ]  # fmt: skip
    out = summarise(rows)
    assert out["mated_probes"] == 2 and out["shortlist_recall"] == 0.5
    assert out["rank1"] == 0.5 and out["real_probes"] == 1 and out["real_rank1"] == 1.0
    assert out["shortlist_recall_at"][1] == 0.5 and out["p50_ms"] == 15.0


def test_runs_are_grouped_by_the_generation_of_their_codes() -> None:
    """The plot fades superseded codes: the generation must come from the encoder's name."""
    assert _code_generation({"encoder": "localsimhash-v2/r70g8s6/b256/wccn1"}) == "v2"
    assert _code_generation({"encoder": "localsimhash-v1/r70g8s6/b256"}) == "v1"
    assert _code_generation({"encoder": "iriscode-v2/rings1-3x128x2"}) == "v2"
    assert _code_generation({}) == "v?"


def test_real_mates_are_extracted_by_the_named_extractor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--extractor` reaches the real fingers: each image goes through the one named."""
    from benchmarks import identify as bench
    from matcher.fingerprint import extractors
    from matcher.index.settings import IndexSettings
    from matcher.synthetic.impressions import impression_image
    from matcher.synthetic.ridges import master_fingerprint

    for finger in (1, 2):
        for shot in (1, 2):
            image = impression_image(master_fingerprint(40 + finger), shot).image
            cv2.imwrite(str(tmp_path / f"{finger}_{shot}.png"), image)
    asked: list[str] = []
    classical = extractors.named("gabor")

    def named(name: str) -> extractors.Extractor:
        asked.append(name)
        return classical

    monkeypatch.setattr(bench.extractors, "named", named)
    ident = bench.fingerprint_identifier(settings=IndexSettings())
    probes, failures = bench.real_mates(tmp_path, ident, 0, 1, "student")
    assert asked == ["student"] and failures == 0
    assert len(probes) == 2 and {p.mate for p in probes} == {0, 1}


def test_an_unknown_extractor_is_refused_before_any_work() -> None:
    from benchmarks.cli import bench_app

    result = CliRunner().invoke(bench_app, ["identify", "--extractor", "nope", "--gallery", "10"])
    assert result.exit_code == 2 and "unknown extractor" in result.output
