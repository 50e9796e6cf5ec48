"""`satupintu registry import`: summary, per-line error report, exit code on a refused file."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.registry.rows import COLUMNS
from gateway.registry.synthetic import synthetic_rows


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("SATUPINTU_DATABASE_URL", raising=False)
    return tmp_path


def test_import_reports_bad_lines_and_is_idempotent(data_dir: Path) -> None:
    rows = list(synthetic_rows(households=2, seed=5, today=dt.date(2026, 11, 27)))
    rows.append(dict(rows[0], nik="32010245069", family_card_number="3201020000000999"))
    source = data_dir / "register.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    runner = CliRunner()
    first = runner.invoke(app, ["registry", "import", str(source)])
    assert first.exit_code == 0, first.output
    assert "1 bad rows" in first.output
    report = list(csv.reader((data_dir / "register.errors.csv").open(encoding="utf-8")))
    assert report[1][:3] == [str(len(rows) + 1), "nik", "invalid_nik_length"]
    second = runner.invoke(app, ["registry", "import", str(source)])
    assert second.exit_code == 0
    created = re.search(r"people created\s*│\s*(\d+)", second.output)
    updated = re.search(r"people updated\s*│\s*(\d+)", second.output)
    assert created and created.group(1) == "0"
    assert updated and updated.group(1) == str(len(rows) - 1)


def test_file_without_columns_exits_2(data_dir: Path) -> None:
    source = data_dir / "bad.csv"
    source.write_text("nik,name\n1,2\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["registry", "import", str(source)])
    assert result.exit_code == 2
    assert "missing_columns" in result.output
    assert not (data_dir / "bad.errors.csv").exists()
