"""Folder layouts and the pairs each protocol compares."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.evaluation.dataset import DatasetError, discover, read_database
from matcher.evaluation.protocols import all_impostor_pairs, fvc_impostor_pairs, genuine_pairs

SUFFIXES = (".tif", ".iso")


def _touch(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x")


def test_flat_fvc_layout_groups_by_prefix_in_capture_order(tmp_path: Path) -> None:
    _touch(tmp_path, [f"{f}_{k}.tif" for f in (101, 102, 103) for k in (1, 2, 10, 3)])
    _touch(tmp_path, ["notes.txt"])
    db = read_database(tmp_path, SUFFIXES)
    assert list(db.identities) == ["101", "102", "103"]
    assert [s.path.name for s in db.identities["101"]] == [
        "101_1.tif", "101_2.tif", "101_3.tif", "101_10.tif",
    ]  # fmt: skip
    assert len(genuine_pairs(db)) == 3 * 6
    assert len(fvc_impostor_pairs(db)) == 3
    assert len(all_impostor_pairs(db)) == 3 * 16
    first = {db.samples[i].path.name for pair in fvc_impostor_pairs(db) for i in pair}
    assert first == {"101_1.tif", "102_1.tif", "103_1.tif"}


def test_casia_style_names_use_the_part_before_the_first_underscore(tmp_path: Path) -> None:
    _touch(tmp_path, ["001_1_1.tif", "001_2_1.tif", "002_1_1.tif"])
    db = read_database(tmp_path, SUFFIXES)
    assert {k: len(v) for k, v in db.identities.items()} == {"001": 2, "002": 1}


def test_sub_folder_per_identity(tmp_path: Path) -> None:
    _touch(tmp_path / "alice", ["a.iso", "b.iso"])
    _touch(tmp_path / "bob", ["c.iso"])
    [db] = discover(tmp_path, SUFFIXES)
    assert {k: len(v) for k, v in db.identities.items()} == {"alice": 2, "bob": 1}
    assert len(genuine_pairs(db)) == 1 and len(all_impostor_pairs(db)) == 2


def test_folder_of_databases_is_split(tmp_path: Path) -> None:
    for name in ("DB1_B", "DB2_B"):
        _touch(tmp_path / name, [f"{f}_{k}.tif" for f in (1, 2) for k in (1, 2)])
    dbs = discover(tmp_path, SUFFIXES)
    assert [d.name for d in dbs] == ["DB1_B", "DB2_B"]


def test_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError):
        discover(tmp_path, SUFFIXES)
