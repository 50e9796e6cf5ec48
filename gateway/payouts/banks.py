"""Which bank adapter serves each bank code: a TOML file, or simulated banks in development."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from adapters.base import BankAdapter
from adapters.registry import AdapterConfigError, AdapterRegistry, discover
from adapters.simulated import SimulatedBankAdapter
from gateway.payouts import repository
from gateway.settings import Settings

log = logging.getLogger("gateway.payouts.banks")

# The state banks that disburse social assistance, each simulated in development.
DEVELOPMENT_BANKS: dict[str, dict[str, Any]] = {
    code: {"adapter": "simulated"} for code in ("BRI", "BNI", "MANDIRI", "BTN", "BSI")
}


def load_banks(settings: Settings, *, session: Session) -> dict[str, BankAdapter]:
    """Build every configured adapter, reporting broken plugins; simulated banks mirror accounts."""
    plugins = discover()
    for error in plugins.broken.values():
        log.error(
            "bank adapter plugin unusable", extra={"plugin": error.plugin, "cause": error.cause}
        )
    if settings.banks_file is not None:
        registry = AdapterRegistry.from_file(settings.banks_file, plugins=plugins)
    elif settings.environment == "production":
        raise AdapterConfigError("SATUPINTU_BANKS_FILE must name the bank adapters in production")
    else:
        registry = AdapterRegistry.from_config(DEVELOPMENT_BANKS, plugins=plugins)
    adapters = {code: registry.for_bank(code) for code in registry.bank_codes}
    for code, adapter in adapters.items():
        for account in repository.payout_accounts_at(session, bank_code=code):
            mirror_account(adapter, account.number, account.name)
    return adapters


def mirror_account(adapter: BankAdapter, number: str, name: str) -> None:
    """A simulated bank knows only what it is told: open the register's accounts there too."""
    if isinstance(adapter, SimulatedBankAdapter):
        adapter.bank.open_account(number, name)
