"""Console sign-in: scrypt passwords, lockout after failed attempts, sessions, revocation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gateway.console import accounts, passwords
from gateway.crypto.keyring import KeyStore
from gateway.db import unit_of_work
from gateway.terminals import service
from gateway.terminals.models import OperatorRole, PrincipalStatus
from tests.gateway.signing import register_operator

NOW = dt.datetime(2026, 12, 5, 3, 0, tzinfo=dt.UTC)
PASSWORD = "a long enough password"
POLICY = {
    "attempts": 3,
    "lockout": dt.timedelta(minutes=15),
    "lifetime": dt.timedelta(hours=8),
}


def test_a_hash_verifies_its_password_only() -> None:
    stored = passwords.hash_password(PASSWORD)
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert passwords.verify_password(PASSWORD, stored)
    assert not passwords.verify_password(PASSWORD + "!", stored)
    assert not passwords.verify_password(PASSWORD, "scrypt$garbage")
    assert passwords.hash_password(PASSWORD) != stored  # salted


@pytest.fixture
def operator(session_factory: sessionmaker[Session], key_store: KeyStore) -> str:
    with unit_of_work(session_factory) as session:
        register_operator(session, "ops-1", OperatorRole.ops)
        accounts.create_account(
            session=session, operator_id="ops-1", password=PASSWORD, language="en"
        )
    return "ops-1"


def _sign_in(
    factory: sessionmaker[Session], password: str, now: dt.datetime
) -> accounts.SignInResult:
    with unit_of_work(factory) as session:
        return accounts.sign_in(
            session=session, operator_id="ops-1", password=password, now=now, **POLICY
        )


def test_the_right_password_opens_a_session_for_the_operator(
    session_factory: sessionmaker[Session], operator: str
) -> None:
    result = _sign_in(session_factory, PASSWORD, NOW)
    assert result.token is not None
    with unit_of_work(session_factory) as session:
        who = accounts.current(session=session, token=result.token, now=NOW)
        assert who is not None and (who.id, who.role, who.language) == (
            "ops-1", OperatorRole.ops, "en"
        )  # fmt: skip
        assert (
            accounts.current(session=session, token=result.token, now=NOW + dt.timedelta(hours=9))
            is None
        )
        assert accounts.current(session=session, token="not-a-token", now=NOW) is None


def test_failed_attempts_lock_the_account_even_for_the_right_password(
    session_factory: sessionmaker[Session], operator: str
) -> None:
    assert [_sign_in(session_factory, "wrong password!", NOW).refusal for _ in range(3)] == [
        "invalid", "invalid", "locked"
    ]  # fmt: skip
    assert _sign_in(session_factory, PASSWORD, NOW + dt.timedelta(minutes=14)).refusal == "locked"
    assert _sign_in(session_factory, PASSWORD, NOW + dt.timedelta(minutes=16)).token is not None


def test_an_unknown_operator_is_told_nothing_more(session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        result = accounts.sign_in(
            session=session, operator_id="nobody", password=PASSWORD, now=NOW, **POLICY
        )
    assert result == accounts.SignInResult(None, "invalid")


def test_a_revoked_operator_is_signed_out_at_the_next_page(
    session_factory: sessionmaker[Session], operator: str
) -> None:
    token = _sign_in(session_factory, PASSWORD, NOW).token
    assert token is not None
    with unit_of_work(session_factory) as session:
        service.set_operator_status(
            session=session, operator_id="ops-1", status=PrincipalStatus.revoked, actor="test"
        )
    with unit_of_work(session_factory) as session:
        assert accounts.current(session=session, token=token, now=NOW) is None
    assert _sign_in(session_factory, PASSWORD, NOW).token is None


def test_short_passwords_and_unknown_operators_get_no_account(
    session_factory: sessionmaker[Session], operator: str
) -> None:
    with pytest.raises(accounts.WeakPassword), unit_of_work(session_factory) as session:
        accounts.create_account(
            session=session, operator_id="ops-1", password="short", language="id"
        )
    with pytest.raises(accounts.UnknownOperator), unit_of_work(session_factory) as session:
        accounts.create_account(session=session, operator_id="x", password=PASSWORD, language="id")
    with pytest.raises(accounts.AccountExists), unit_of_work(session_factory) as session:
        accounts.create_account(
            session=session, operator_id="ops-1", password=PASSWORD, language="id"
        )
