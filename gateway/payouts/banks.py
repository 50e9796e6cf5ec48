"""Which bank adapter serves each bank code: a TOML file, or simulated banks in development."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from adapters import registry
from adapters.base import BankAdapter
from adapters.simulated import SimulatedBankAdapter
from gateway.payouts import repository
from gateway.settings import Settings

# The state banks that disburse social assistance, each simulated in development.
DEVELOPMENT_BANKS: dict[str, dict[str, Any]] = {
    code: {"adapter": "simulated", "config": {"bank_code": code}}
    for code in ("BRI", "BNI", "MANDIRI", "BTN", "BSI")
}


class BankConfigError(ValueError):
    code = "bank_config_invalid"


def bank_config(settings: Settings) -> dict[str, dict[str, Any]]:
    """`[banks.CODE] adapter = "..."` with an optional `[banks.CODE.config]` table."""
    if settings.banks_file is None:
        if settings.environment == "production":
            raise BankConfigError("SATUPINTU_BANKS_FILE must name the bank adapters in production")
        return DEVELOPMENT_BANKS
    try:
        raw = tomllib.loads(Path(settings.banks_file).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BankConfigError(f"cannot read bank file {settings.banks_file}: {exc}") from exc
    banks = raw.get("banks")
    if not isinstance(banks, dict) or not banks:
        raise BankConfigError(f"{settings.banks_file}: no [banks.CODE] tables")
    for code, entry in banks.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("adapter"), str):
            raise BankConfigError(f'{settings.banks_file}: banks.{code} needs adapter = "name"')
    return banks


def load_banks(settings: Settings, *, session: Session) -> dict[str, BankAdapter]:
    """Instantiate every configured adapter; a simulated bank also opens the register's accounts."""
    adapters: dict[str, BankAdapter] = {}
    for code, entry in bank_config(settings).items():
        config = {"bank_code": code, **entry.get("config", {})}
        adapter = registry.create_adapter(entry["adapter"], config)
        for account in repository.payout_accounts_at(session, bank_code=code):
            mirror_account(adapter, account.number, account.name)
        adapters[code] = adapter
    return adapters


def mirror_account(adapter: BankAdapter, number: str, name: str) -> None:
    """A simulated bank knows only what it is told: open the register's accounts there too."""
    if isinstance(adapter, SimulatedBankAdapter):
        adapter.bank.open_account(number, name)
