"""Plugins are discovered through entry points; broken ones are reported by name and cause."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from adapters.base import BankAdapter
from adapters.registry import (
    ENTRY_POINT_GROUP,
    AdapterConfigError,
    AdapterRegistry,
    PluginLoadError,
    UnknownBank,
    discover,
)
from adapters.simulated import SimulatedBankAdapter


def _ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


def test_the_three_shipped_adapters_are_installed() -> None:
    report = discover()
    assert {"simulated", "iso20022", "snap"} <= set(report.factories)
    assert not report.broken


def test_broken_plugins_are_reported_with_name_and_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exploding_bank.py").write_text("raise RuntimeError('no licence file')\n")
    (tmp_path / "not_a_factory.py").write_text("create = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    report = discover(
        [
            _ep("simulated", "adapters.simulated:create"),
            _ep("missing", "no_such_module_anywhere:create"),
            _ep("exploding", "exploding_bank:create"),
            _ep("notcallable", "not_a_factory:create"),
            _ep("typo", "adapters.simulated:craete"),
        ]
    )
    assert set(report.factories) == {"simulated"}
    assert set(report.broken) == {"missing", "exploding", "notcallable", "typo"}
    exploding = report.broken["exploding"]
    assert exploding.plugin == "exploding"
    assert "RuntimeError: no licence file" in exploding.cause
    assert "exploding_bank:create" in exploding.message
    assert "ModuleNotFoundError" in report.broken["missing"].cause
    assert "AttributeError" in report.broken["typo"].cause


def test_a_name_registered_twice_is_broken() -> None:
    report = discover(
        [_ep("bank", "adapters.simulated:create"), _ep("bank", "adapters.snap.client:create")]
    )
    assert "bank" in report.broken and "bank" not in report.factories


def test_banks_map_to_adapters_by_configuration() -> None:
    registry = AdapterRegistry.from_config(
        {
            "BRINIDJA": {"adapter": "simulated", "seed": 7},
            "BNINIDJA": {"adapter": "simulated", "settlement_account": "5005000000001"},
        }
    )
    bri = registry.for_bank("BRINIDJA")
    bni = registry.for_bank("BNINIDJA")
    assert isinstance(bri, SimulatedBankAdapter) and isinstance(bni, SimulatedBankAdapter)
    assert isinstance(bri, BankAdapter)
    assert (bri.bank_code, bni.bank_code) == ("BRINIDJA", "BNINIDJA")
    assert bni.bank.settlement_account == "5005000000001"
    assert registry.bank_codes == ("BNINIDJA", "BRINIDJA")
    with pytest.raises(UnknownBank):
        registry.for_bank("BMRIIDJA")


def test_configuration_errors_are_clear(tmp_path: Path) -> None:
    plugins = discover([_ep("simulated", "adapters.simulated:create"), _ep("bad", "nope:create")])
    with pytest.raises(AdapterConfigError, match="no adapter plugin named 'ghost'"):
        AdapterRegistry.from_config({"X": {"adapter": "ghost"}}, plugins=plugins)
    with pytest.raises(AdapterConfigError, match="'adapter' key is required"):
        AdapterRegistry.from_config({"X": {}}, plugins=plugins)
    with pytest.raises(PluginLoadError) as caught:
        AdapterRegistry.from_config({"X": {"adapter": "bad"}}, plugins=plugins)
    assert caught.value.plugin == "bad"
    with pytest.raises(PluginLoadError, match="could not be built"):
        AdapterRegistry.from_config({"X": {"adapter": "iso20022"}})  # base_url missing


def test_registry_from_a_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "banks.toml"
    path.write_text('[banks.BRINIDJA]\nadapter = "simulated"\nopening_balance = 5000\n')
    registry = AdapterRegistry.from_file(path)
    adapter = registry.for_bank("BRINIDJA")
    assert isinstance(adapter, SimulatedBankAdapter)
    assert adapter.bank.balance(adapter.bank.settlement_account) == 5000
    (tmp_path / "broken.toml").write_text("[banks\n")
    with pytest.raises(AdapterConfigError):
        AdapterRegistry.from_file(tmp_path / "broken.toml")
