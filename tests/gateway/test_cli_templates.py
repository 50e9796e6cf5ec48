"""`satupintu template show` on records the project writes itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from gateway.cli import app
from matcher.fingerprint import iso19794_2, storage
from matcher.fingerprint.fmr import FORMATS
from matcher.records.capture import finger_image_record
from matcher.records.payload import Compression
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


def test_template_convert_reframes_finger_image_records_between_editions(tmp_path: Path) -> None:
    pixels = np.tile(np.arange(200, dtype=np.uint8), (160, 1))
    source = tmp_path / "finger.fir"
    source.write_bytes(finger_image_record(pixels, position=7, compression=Compression.JPEG2000))
    older = tmp_path / "finger-2005.fir"
    result = CliRunner().invoke(
        app, ["template", "convert", str(source), str(older), "--to", "iso19794-4:2005"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(CliRunner().invoke(app, ["template", "show", str(older)]).stdout)
    assert doc["format"] == "iso19794-4:2005"
    (view,) = doc["representations"]
    assert (view["position"], view["compression"], view["resolution_dpi"]) == (
        7,
        "jpeg2000",
        [500, 500],
    )
    back = tmp_path / "finger-2011.fir"
    CliRunner().invoke(
        app, ["template", "convert", str(older), str(back), "--to", "iso19794-4:2011"]
    )
    again = json.loads(CliRunner().invoke(app, ["template", "show", str(back)]).stdout)
    # Re-framed from the 2005 edition, JPEG 2000 of unknown history is declared lossy (4).
    assert again["representations"][0]["compression_code"] == 4
    assert (
        json.loads(CliRunner().invoke(app, ["template", "show", str(source)]).stdout)[
            "representations"
        ][0]["compression_code"]
        == 5
    )
