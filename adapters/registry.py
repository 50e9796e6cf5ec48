"""Finding bank adapter plugins and choosing one per bank.

Plugins register a factory under the `satupintu.adapters` entry point group:

    [project.entry-points."satupintu.adapters"]
    mybank = "mybank_adapter:create"   # create(config: Mapping[str, Any]) -> BankAdapter

`discover()` loads every plugin and keeps going when one is broken, recording a
`PluginLoadError` that names the plugin, its target and the cause, so start-up can log every
broken plugin at once and fail only when a configured bank needs one of them.
`AdapterRegistry.from_config` maps bank codes (the terminal's bank) to adapters.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.base import BankAdapter, BankAdapterError

ENTRY_POINT_GROUP = "satupintu.adapters"
AdapterFactory = Callable[[Mapping[str, Any]], BankAdapter]


class PluginLoadError(BankAdapterError):
    """An adapter plugin could not be loaded or built; names the plugin and the cause."""

    code = "adapter_plugin_broken"

    def __init__(self, message: str, *, plugin: str, cause: str) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.cause = cause


class AdapterConfigError(BankAdapterError):
    """The bank-to-adapter configuration is unreadable or names an unknown plugin."""

    code = "adapter_config_invalid"


class UnknownBank(BankAdapterError):
    """No adapter is configured for this bank code."""

    code = "bank_not_configured"


@dataclass(frozen=True)
class PluginReport:
    """Every plugin found: the loaded factories and the broken ones with their errors."""

    factories: dict[str, AdapterFactory] = field(default_factory=dict)
    broken: dict[str, PluginLoadError] = field(default_factory=dict)


def discover(entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> PluginReport:
    """Load every adapter plugin; a failure is recorded, never raised or swallowed silently."""
    found = (
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if entry_points is None
        else entry_points
    )
    report = PluginReport()
    for ep in found:
        if ep.name in report.factories or ep.name in report.broken:
            report.broken[ep.name] = PluginLoadError(
                f"adapter plugin {ep.name!r} is registered twice (again by {ep.value})",
                plugin=ep.name,
                cause="duplicate name",
            )
            report.factories.pop(ep.name, None)
            continue
        try:
            factory = ep.load()
        except Exception as exc:  # any import-time failure of third-party code is reported
            report.broken[ep.name] = PluginLoadError(
                f"adapter plugin {ep.name!r} ({ep.value}) failed to load: "
                f"{type(exc).__name__}: {exc}",
                plugin=ep.name,
                cause=f"{type(exc).__name__}: {exc}",
            )
            continue
        if not callable(factory):
            report.broken[ep.name] = PluginLoadError(
                f"adapter plugin {ep.name!r} ({ep.value}) is not a factory callable",
                plugin=ep.name,
                cause=f"{type(factory).__name__} is not callable",
            )
            continue
        report.factories[ep.name] = factory
    return report


class AdapterRegistry:
    """The adapter for each bank code, built once at start-up from configuration."""

    def __init__(self, adapters: Mapping[str, BankAdapter]) -> None:
        self._adapters = dict(adapters)

    @classmethod
    def from_config(
        cls, banks: Mapping[str, Mapping[str, Any]], *, plugins: PluginReport | None = None
    ) -> AdapterRegistry:
        """`banks` maps a bank code to its settings, whose `adapter` key names the plugin."""
        report = plugins if plugins is not None else discover()
        adapters: dict[str, BankAdapter] = {}
        for bank_code, settings in banks.items():
            name = settings.get("adapter")
            if not isinstance(name, str):
                raise AdapterConfigError(f"bank {bank_code}: the 'adapter' key is required")
            if name in report.broken:
                raise report.broken[name]
            factory = report.factories.get(name)
            if factory is None:
                known = ", ".join(sorted(report.factories)) or "none"
                raise AdapterConfigError(
                    f"bank {bank_code}: no adapter plugin named {name!r} (installed: {known})"
                )
            options = {k: v for k, v in settings.items() if k != "adapter"}
            options.setdefault("bank_code", bank_code)
            try:
                adapter = factory(options)
            except (KeyError, TypeError, ValueError, OSError) as exc:
                raise PluginLoadError(
                    f"adapter plugin {name!r} could not be built for bank {bank_code}: "
                    f"{type(exc).__name__}: {exc}",
                    plugin=name,
                    cause=f"{type(exc).__name__}: {exc}",
                ) from exc
            if not isinstance(adapter, BankAdapter):
                raise PluginLoadError(
                    f"adapter plugin {name!r} built a {type(adapter).__name__}, "
                    "which does not implement BankAdapter",
                    plugin=name,
                    cause="protocol not implemented",
                )
            adapters[bank_code] = adapter
        return cls(adapters)

    @classmethod
    def from_file(cls, path: Path, *, plugins: PluginReport | None = None) -> AdapterRegistry:
        """Read `[banks.<CODE>]` tables from a TOML file."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise AdapterConfigError(f"bank adapter configuration {path}: {exc}") from exc
        banks = data.get("banks")
        if not isinstance(banks, dict):
            raise AdapterConfigError(f"{path} has no [banks.<CODE>] tables")
        return cls.from_config(banks, plugins=plugins)

    def for_bank(self, bank_code: str) -> BankAdapter:
        try:
            return self._adapters[bank_code]
        except KeyError:
            raise UnknownBank(f"no bank adapter is configured for bank {bank_code!r}") from None

    @property
    def bank_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self._adapters))
