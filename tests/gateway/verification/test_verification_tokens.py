"""Verification tokens: single use, short-lived, bound to one terminal, unforgeable."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from gateway.crypto.keyring import KeyStore
from gateway.db import unit_of_work
from gateway.registry.models import Household, Person
from gateway.verification.models import VerificationToken
from gateway.verification.tokens import (
    TokenClaims,
    TokenExpired,
    TokenInvalid,
    TokenUsed,
    TokenWrongTerminal,
    consume_token,
    issue_token,
)

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def person(session_factory: sessionmaker[Session], key_store: KeyStore) -> Iterator[Person]:
    with unit_of_work(session_factory) as session:
        household = Household(
            reference="hh_t",
            family_card_number="3201020101100001",
            province_code="32",
            regency_code="01",
            district_code="02",
        )
        session.add(household)
        session.flush()
        row = Person(
            reference="p_t",
            household_id=household.id,
            nik_hash=b"h" * 32,
            nik_ciphertext=b"x",
            name="Siti",
            birth_date=dt.date(1990, 6, 5),
            sex="F",
            relation="head",
        )
        session.add(row)
    yield row


def _issue(session_factory: sessionmaker[Session], person: Person, **kwargs: object) -> str:
    with unit_of_work(session_factory) as session:
        issued = issue_token(
            session=session,
            person_id=person.id,
            household_id=person.household_id,
            person_reference="p_t",
            household_reference="hh_t",
            terminal_id=str(kwargs.get("terminal_id", "T-1")),
            request_digest="d" * 64,
            now=NOW,
        )
    return issued.token


def _consume(
    session_factory: sessionmaker[Session], token: str, terminal: str = "T-1", seconds: int = 10
) -> TokenClaims:
    with unit_of_work(session_factory) as session:
        return consume_token(
            session=session,
            token=token,
            terminal=terminal,
            now=NOW + dt.timedelta(seconds=seconds),
        )


def test_token_is_spent_once(session_factory: sessionmaker[Session], person: Person) -> None:
    token = _issue(session_factory, person)
    claims = _consume(session_factory, token)
    assert claims.person_id == person.id and claims.household_reference == "hh_t"
    assert not claims.fallback and claims.terminal_id == "T-1"
    with pytest.raises(TokenUsed):
        _consume(session_factory, token)


def test_rolled_back_spend_leaves_token_usable(
    session_factory: sessionmaker[Session], person: Person
) -> None:
    token = _issue(session_factory, person)
    with pytest.raises(RuntimeError), unit_of_work(session_factory) as session:
        consume_token(session=session, token=token, terminal="T-1", now=NOW)
        raise RuntimeError("payout failed")
    assert _consume(session_factory, token).token_id


def test_expired_token_refused(session_factory: sessionmaker[Session], person: Person) -> None:
    token = _issue(session_factory, person)
    with pytest.raises(TokenExpired):
        _consume(session_factory, token, seconds=121)


def test_token_of_another_terminal_refused(
    session_factory: sessionmaker[Session], person: Person
) -> None:
    token = _issue(session_factory, person)
    with pytest.raises(TokenWrongTerminal):
        _consume(session_factory, token, terminal="T-2")
    assert _consume(session_factory, token).terminal_id == "T-1"


def test_forged_and_tampered_tokens_refused(
    session_factory: sessionmaker[Session], person: Person
) -> None:
    token = _issue(session_factory, person)
    prefix, body, kid, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["trm"] = "T-2"
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    for bad in (
        f"{prefix}.{forged_body}.{kid}.{signature}",
        f"{prefix}.{body}.{kid}.{'A' * len(signature)}",
        f"{prefix}.{body}.ed-unknown.{signature}",
        "not-a-token",
        "",
    ):
        with pytest.raises(TokenInvalid):
            _consume(session_factory, bad, terminal="T-2")
    assert _consume(session_factory, token).person_reference == "p_t"


def test_a_genuine_token_without_its_row_is_refused_and_its_row_decides(
    session_factory: sessionmaker[Session], person: Person
) -> None:
    """The signature proves the claims; single use, terminal and lifetime are the row's."""
    token = _issue(session_factory, person)
    body = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    with unit_of_work(session_factory) as session:
        session.execute(
            update(VerificationToken)
            .where(VerificationToken.id == claims["jti"])
            .values(expires_at=NOW + dt.timedelta(seconds=5))
        )
    with pytest.raises(TokenExpired):  # the row says expired though the claims do not
        _consume(session_factory, token)
    with unit_of_work(session_factory) as session:
        session.execute(delete(VerificationToken).where(VerificationToken.id == claims["jti"]))
    with pytest.raises(TokenInvalid):
        _consume(session_factory, token)
