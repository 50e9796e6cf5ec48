"""`satupintu template show` on records the project writes itself."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from gateway.cli import app
from matcher.fingerprint import iso19794_2, storage
from matcher.fingerprint.fmr import FORMATS
from matcher.synthetic.minutiae import master


def test_template_show_prints_iso_records_as_json(tmp_path: Path) -> None:
    m = master(1, finger_position=2)
    path = tmp_path / "finger.iso"
    path.write_bytes(iso19794_2.write([m]))
    result = CliRunner().invoke(app, ["template", "show", str(path)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["views"][0]["finger_position"] == 2
    assert len(doc["views"][0]["minutiae"]) == len(m)
    assert set(doc["views"][0]["minutiae"][0]) == {"x", "y", "angle", "type", "quality"}


def test_template_show_prints_internal_records(tmp_path: Path) -> None:
    path = tmp_path / "finger.spt"
    path.write_bytes(storage.dumps([master(2), master(3)]))
    result = CliRunner().invoke(app, ["template", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["header"]["number_of_views"] == 2


def test_template_show_names_the_bad_field(tmp_path: Path) -> None:
    path = tmp_path / "broken.iso"
    path.write_bytes(iso19794_2.write([master(4)])[:40])
    result = CliRunner().invoke(app, ["template", "show", str(path)])
    assert result.exit_code == 2
    assert "view[0].minutiae" in result.output


def test_template_convert_writes_each_format_and_reports_what_it_drops(tmp_path: Path) -> None:
    source = tmp_path / "finger.iso"
    source.write_bytes(iso19794_2.write([master(8, finger_position=7)]))
    for target in FORMATS:
        out = tmp_path / f"finger-{target.replace(':', '-')}.bin"
        result = CliRunner().invoke(
            app, ["template", "convert", str(source), str(out), "--to", target]
        )
        assert result.exit_code == 0, result.output
        shown = CliRunner().invoke(app, ["template", "show", str(out)])
        doc = json.loads(shown.stdout)
        assert doc["format"] == target
        assert doc["views"][0]["minutia_count"] == len(master(8))


def test_template_convert_refuses_an_unknown_target(tmp_path: Path) -> None:
    source = tmp_path / "finger.iso"
    source.write_bytes(iso19794_2.write([master(9)]))
    result = CliRunner().invoke(
        app, ["template", "convert", str(source), str(tmp_path / "x"), "--to", "bmp"]
    )
    assert result.exit_code == 2
    assert json.loads(result.stderr)["field"] == "target"
    assert not (tmp_path / "x").exists()
