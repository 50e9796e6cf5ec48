"""The `bank-sim` command group: plugin listing and argument checking."""

from __future__ import annotations

from typer.testing import CliRunner

from adapters.cli import bank_sim_app


def test_plugins_lists_the_shipped_adapters() -> None:
    result = CliRunner().invoke(bank_sim_app, ["plugins"])
    assert result.exit_code == 0, result.output
    for name in ("simulated", "iso20022", "snap"):
        assert name in result.output


def test_serve_refuses_an_unknown_protocol() -> None:
    result = CliRunner().invoke(bank_sim_app, ["serve", "--protocol", "swift-mt103"])
    assert result.exit_code == 2
    assert "iso20022 or snap" in result.output
