"""A terminal request verified against the key this process last saw, confirmed later in the
route's own transaction: the hot path (verify, pay) then costs one signature check and no
extra database round trip, and a terminal revoked a moment ago by any process is still
refused when the route's transaction re-reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from gateway.db import unit_of_work
from gateway.terminals import repository
from gateway.terminals.authenticate import check_active, record_nonce
from gateway.terminals.errors import ReplayedRequest, UnknownTerminal
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
    last saw it, not yet confirmed: `check` re-reads key and status in the route's own
    transaction (or read snapshot) and `spend_nonce` records the nonce in its write
    transaction, so a terminal revoked a moment ago (by any process) is still refused."""

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
        row, device_rows = repository.terminal_with_devices(
            session, self.terminal.id, devices.device_ids() if devices is not None else ()
        )
        if row is None:
            raise UnknownTerminal("No terminal is registered under this key id.")
        self.cache.terminals.put(row.id, row)
        if row.public_key != self.public_key:  # re-keyed since: the signature must still hold
            verify_signature(self.message, self.params, row.public_key, self.body)
        check_active(row, "terminal")
        if devices is not None:
            devices.check(device_rows)

    def spend_nonce(self, session: Session) -> None:
        """Record the nonce in the caller's transaction: a second copy of the request fails."""
        record_nonce(
            session, kind="terminal", params=self.params, window=self.window, now=datetime.now(UTC)
        )

    def record_nonce_alone(self, factory: sessionmaker[Session]) -> None:
        """After a confirmed request failed, its nonce stays spent (in a transaction of its
        own), so the refused request cannot be replayed later."""
        try:
            with unit_of_work(factory) as session:
                self.spend_nonce(session)
        except ReplayedRequest:
            pass  # a concurrent copy of the request recorded it


@contextmanager
def signed_unit_of_work(
    factory: sessionmaker[Session],
    signed: SignedTerminalRequest,
    devices: DeviceCheck | None = None,
    *,
    checked: bool = False,
) -> Iterator[Session]:
    """The request's one write transaction: the terminal (and `devices`) checked and its
    nonce recorded first; if the route then fails, the nonce is still recorded (see
    `record_nonce_alone`). `checked`: the caller already ran `signed.check` in a read
    snapshot of this request, so only the nonce is recorded here."""
    confirmed = False
    try:
        with unit_of_work(factory) as session:
            if not checked:
                signed.check(session, devices)
            signed.spend_nonce(session)
            confirmed = True
            yield session
    except BaseException:
        if confirmed:
            signed.record_nonce_alone(factory)
        raise
