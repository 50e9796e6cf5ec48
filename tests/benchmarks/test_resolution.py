"""Benchmark databases' capture resolution: declared on the command line or in metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from benchmarks import resolution


def test_a_folder_name_alone_never_sets_the_resolution(tmp_path: Path) -> None:
    folder = tmp_path / "DB2_B"
    folder.mkdir()
    assert resolution.parse([]).of("DB2_B", folder) is None
    assert resolution.parse(["500"]).of("DB2_B", folder) == 500


def test_metadata_beside_the_images_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "sensor"
    folder.mkdir()
    (folder / resolution.METADATA).write_text(json.dumps({"resolution_dpi": 569}))
    assert resolution.parse([]).of("sensor", folder) == 569
    # A per-database option wins over the file; the all-databases option does not.
    assert resolution.parse(["sensor=600"]).of("sensor", folder) == 600
    assert resolution.parse(["500"]).of("sensor", folder) == 569


def test_a_passed_metadata_file_names_each_database(tmp_path: Path) -> None:
    declared = tmp_path / "dpi.json"
    declared.write_text(json.dumps({"DB2_B": 569}))
    table = resolution.parse(["500"], declared)
    assert table.of("DB2_B", tmp_path) == 569
    assert table.of("DB1_B", tmp_path) == 500


@pytest.mark.parametrize(
    "content", ["not json", json.dumps([569]), json.dumps({"DB2_B": "high"}), json.dumps({"a": 0})]
)
def test_malformed_metadata_is_refused(tmp_path: Path, content: str) -> None:
    declared = tmp_path / "dpi.json"
    declared.write_text(content)
    with pytest.raises(typer.BadParameter):
        resolution.parse([], declared)


def test_malformed_metadata_beside_the_images_is_refused(tmp_path: Path) -> None:
    (tmp_path / resolution.METADATA).write_text(json.dumps({"dpi": 569}))
    with pytest.raises(typer.BadParameter):
        resolution.parse([]).of("x", tmp_path)


@pytest.mark.parametrize("option", ["DB2=high", "0", "DB2="])
def test_bad_options_are_refused(option: str) -> None:
    with pytest.raises(typer.BadParameter):
        resolution.parse([option])
