"""`satupintu match` and `satupintu calibrate` on synthetic ISO records."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from matcher.fingerprint import iso19794_2
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.minutiae import impression, master

runner = CliRunner()


def _record(path: Path, *sets: MinutiaSet) -> Path:
    path.write_bytes(iso19794_2.write(list(sets)))
    return path


def _finger(seed: int, position: int) -> MinutiaSet:
    from dataclasses import replace

    return replace(master(seed), finger_position=position)


def test_match_prints_score_decision_and_fmr(tmp_path: Path) -> None:
    finger, other = master(1), master(2)
    a = _record(tmp_path / "a.iso", impression(finger, seed=1))
    b = _record(tmp_path / "b.fmr", impression(finger, seed=2))
    c = _record(tmp_path / "c.ist", impression(other, seed=1))
    same = json.loads(runner.invoke(app, ["match", str(a), str(b)]).stdout)
    diff = json.loads(runner.invoke(app, ["match", str(a), str(c)]).stdout)
    assert same["decision"] == "match" and diff["decision"] == "no_match"
    assert same["score"] > diff["score"] and same["fmr"] < diff["fmr"]
    assert same["a"]["views"][0]["minutiae"] > 0


def test_match_fuses_two_finger_records(tmp_path: Path) -> None:
    right, left = _finger(3, 2), _finger(4, 7)
    card = _record(tmp_path / "card.iso", impression(right, seed=1), impression(left, seed=1))
    live = _record(tmp_path / "live.iso", impression(left, seed=2), impression(right, seed=2))
    out = json.loads(runner.invoke(app, ["match", str(card), str(live)]).stdout)
    assert out["rule"] == "fisher" and len(out["fingers"]) == 2
    assert out["decision"] == "match"
    assert out["fmr"] <= min(f["fmr"] for f in out["fingers"])


def test_match_reports_unreadable_input_as_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.iso"
    bad.write_bytes(b"FMR\x00 20\x00\x00\x00")
    good = _record(tmp_path / "good.iso", impression(master(5), seed=1))
    run = runner.invoke(app, ["match", str(bad), str(good)])
    assert run.exit_code == 2
    assert json.loads(run.stdout)["error"]


def test_calibrate_from_a_labelled_folder(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    for f in range(40):
        finger = master(700 + f)
        for k in range(2):
            _record(folder / f"{f}_{k}.iso", impression(finger, seed=k))
    out = tmp_path / "cal.json"
    run = runner.invoke(app, ["calibrate", str(folder), "--out", str(out), "--processes", "1"])
    assert run.exit_code == 0, run.output
    a = _record(tmp_path / "a.iso", impression(master(1), seed=1))
    b = _record(tmp_path / "b.iso", impression(master(1), seed=2))
    res = json.loads(
        runner.invoke(app, ["match", str(a), str(b), "--calibration", str(out)]).stdout
    )
    assert res["calibration"].startswith("folder db")
