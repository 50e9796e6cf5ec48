"""The console over HTTP (no browser): cookies, roles, CSRF and API keys, on every backend."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from gateway.console import accounts
from gateway.db import unit_of_work
from gateway.terminals.models import OperatorRole
from tests.gateway.signing import SignedClient, register_operator

PASSWORD = "a long enough password"


@pytest.fixture
def operators(api: TestClient, session_factory: sessionmaker[Session]) -> None:
    with unit_of_work(session_factory) as session:
        for operator_id, role in (("ops-1", OperatorRole.ops), ("cw-1", OperatorRole.case_worker)):
            register_operator(session, operator_id, role)
            accounts.create_account(
                session=session, operator_id=operator_id, password=PASSWORD, language="en"
            )


def _sign_in(client: TestClient, operator_id: str) -> str:
    """Signs the client in; the CSRF token of its session."""
    form = client.get("/console/sign-in").text
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token is not None
    answer = client.post(
        "/console/sign-in",
        data={"operator_id": operator_id, "password": PASSWORD, "csrf": token.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/console/").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    return csrf.group(1)


def test_the_session_cookie_is_http_only_strict_and_secure_over_tls(
    gateway_app: object, operators: None, api: TestClient
) -> None:
    with TestClient(gateway_app, base_url="https://console.test") as tls:  # type: ignore[arg-type]
        form = tls.get("/console/sign-in").text
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        answer = tls.post(
            "/console/sign-in",
            data={"operator_id": "ops-1", "password": PASSWORD, "csrf": token.group(1)},
            follow_redirects=False,
        )
    cookie = answer.headers["set-cookie"]
    assert "satupintu_console=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Secure" in cookie
    plain = api.get("/console/sign-in")
    assert "Secure" not in plain.headers["set-cookie"]


def test_pages_need_a_session_and_the_right_role(api: TestClient, operators: None) -> None:
    assert api.get("/console/audit", follow_redirects=False).headers["location"] == (
        "/console/sign-in"
    )
    csrf = _sign_in(api, "cw-1")
    assert api.get("/console/adjudications").status_code == 200
    assert api.get("/console/audit").status_code == 403
    refused = api.post("/console/devices/D-1/revoke", data={"csrf": csrf})
    assert refused.status_code == 403 and "console_role_forbidden" in refused.text


def test_a_form_needs_its_sessions_csrf_token(api: TestClient, operators: None) -> None:
    csrf = _sign_in(api, "ops-1")
    assert api.post("/console/audit/verify", data={}).status_code == 403
    assert api.post("/console/audit/verify", data={"csrf": csrf[:-1] + "x"}).status_code == 403
    verified = api.post("/console/audit/verify", data={"csrf": csrf})
    assert verified.status_code == 200 and "Chain intact" in verified.text


def test_a_terminals_signed_request_opens_no_page(terminal_client: SignedClient) -> None:
    answer = terminal_client.get("/console/")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "console_takes_no_api_keys"


def test_signing_out_ends_the_session(api: TestClient, operators: None) -> None:
    csrf = _sign_in(api, "ops-1")
    api.post("/console/sign-out", data={"csrf": csrf})
    assert api.get("/console/", follow_redirects=False).status_code == 303
