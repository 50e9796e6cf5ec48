"""The CLI manages the same registry the API serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SATUPINTU_DATABASE_URL", raising=False)
    monkeypatch.delenv("SATUPINTU_KEYRING", raising=False)
    return tmp_path


def test_add_list_revoke_and_audit(cli_env: Path) -> None:
    runner = CliRunner()
    key_path = cli_env / "t1.pem"
    added = runner.invoke(
        app,
        [
            "terminals", "add", "T-1", "--agent", "Warung", "--bank", "BNI",
            "--province", "31", "--regency", "71", "--generate-key", str(key_path),
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert key_path.stat().st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" in key_path.read_text()
    listed = runner.invoke(app, ["terminals", "list"])
    assert "T-1" in listed.output and "active" in listed.output
    assert runner.invoke(app, ["terminals", "revoke", "T-1"]).exit_code == 0
    refused = runner.invoke(app, ["terminals", "activate", "T-1"])
    assert refused.exit_code == 1 and "status_change_refused" in refused.output
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "2 entries" in verified.output
