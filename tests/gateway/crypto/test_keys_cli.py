"""`satupintu keys ...`: rotation adds keys, keeps the old ones readable, and is audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.cli import app
from gateway.crypto.keyring import ENV_VAR


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SATUPINTU_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SATUPINTU_DATABASE_URL", raising=False)
    monkeypatch.delenv(ENV_VAR, raising=False)
    return tmp_path


def test_init_show_rotate(cli_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["keys", "init"]).exit_code == 0
    shown = runner.invoke(app, ["keys", "show"])
    assert shown.output.count("kek-") == 1 and "current" in shown.output
    rotated = runner.invoke(app, ["keys", "rotate", "--hpke"])
    assert rotated.exit_code == 0, rotated.output
    shown = runner.invoke(app, ["keys", "show"])
    assert shown.output.count("kek-") == 2 and "accepted" in shown.output
    assert "previous" in shown.output
    # Key ids only: no key material is ever printed.
    ring = json.loads((cli_env / "keys" / "keyring.json").read_text())
    secrets = [*ring["keks"].values(), *ring["hpke"].values(), ring["nik_lookup_key"]]
    assert not any(secret in shown.output + rotated.output for secret in secrets)
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0 and "1 entries" in verified.output
