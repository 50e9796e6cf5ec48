"""A terminal request verified against the key this process last saw, confirmed later in the
route's own transaction: the hot path (verify, pay) then costs one signature check and no
extra database round trip, and a terminal revoked a moment ago by any process is still
refused when the route's transaction re-reads it. Its nonce is already recorded for good
when the route runs (`gateway.terminals.auth`), so a request that then fails stays spent.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from gateway.db import unit_of_work
from gateway.terminals import repository
from gateway.terminals.authenticate import check_active
from gateway.terminals.errors import UnknownTerminal
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.terminals.principals import PrincipalCache
from gateway.terminals.repository import DeviceKeyRow
from gateway.terminals.signatures import SignatureParams, SignedMessage, verify_signature


class DeviceCheck(Protocol):
    """The capture devices a request's captures were opened with, checked against the
    database rows of those devices (`gateway.biometrics.sealed.CachedDevices`)."""

    def device_ids(self) -> list[str]: ...

    def check(self, rows: dict[str, DeviceKeyRow]) -> None: ...


@dataclass(frozen=True)
class SignedTerminalRequest:
    """A terminal request whose signature verified against the terminal's key as this process
    last saw it (its nonce already recorded), not yet confirmed: `check` re-reads key and
    status in the route's own transaction (or read snapshot), so a terminal revoked a moment
    ago (by any process) is still refused."""

    terminal: AuthenticatedTerminal
    public_key: bytes
    params: SignatureParams
    message: SignedMessage
    body: bytes
    window: timedelta
    cache: PrincipalCache

    def check(self, session: Session, devices: DeviceCheck | None = None) -> None:
        """Key and status (the terminal's, then its capture devices') against the database:
        one query, no write (a read snapshot will do; see `signed_unit_of_work`)."""
        device_rows: dict[str, DeviceKeyRow] = {}
        if devices is None:  # the terminal alone: the plain statement, no device list
            row = repository.terminal_auth_row(session, self.terminal.id)
        else:
            row, device_rows = repository.terminal_with_devices(
                session, self.terminal.id, devices.device_ids()
            )
        if row is None:
            raise UnknownTerminal("No terminal is registered under this key id.")
        self.cache.terminals.put(row.id, row)
        if row.public_key != self.public_key:  # re-keyed since: the signature must still hold
            verify_signature(self.message, self.params, row.public_key, self.body)
        check_active(row, "terminal")
        if devices is not None:
            devices.check(device_rows)


@contextmanager
def signed_unit_of_work(
    factory: sessionmaker[Session],
    signed: SignedTerminalRequest,
    devices: DeviceCheck | None = None,
) -> Iterator[Session]:
    """The request's one write transaction, the terminal (and `devices`) checked first."""
    with unit_of_work(factory) as session:
        signed.check(session, devices)
        yield session
