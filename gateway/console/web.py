"""What every console page shares: who is signed in, their role, the CSRF check, rendering.

Console pages are opened by a session cookie alone. A request carrying an RFC 9421 signature
(a terminal's or an operator's API key) is refused outright: API keys open the API, never a
page, so a stolen terminal key reaches no operator's view.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from gateway.console import accounts, i18n
from gateway.console.accounts import ConsoleOperator
from gateway.db import read_snapshot, utcnow
from gateway.errors import Forbidden, GatewayError, Unauthorized
from gateway.terminals.models import OperatorRole

COOKIE = "satupintu_console"
PRE_SIGN_IN_COOKIE = "satupintu_console_pre"
PREFIX = "/console"
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters["rupiah"] = i18n.rupiah
# Pages hold personal data and one-time tokens: never cached, never framed, own scripts only.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

Ops, CaseWorker, Supervisor, Auditor = (
    OperatorRole.ops,
    OperatorRole.case_worker,
    OperatorRole.supervisor,
    OperatorRole.auditor,
)
EVERYONE = (Ops, CaseWorker, Supervisor, Auditor)


class SignInRequired(Unauthorized):
    code = "console_sign_in_required"


class SignedRequestRefused(Unauthorized):
    code = "console_takes_no_api_keys"


class RoleForbidden(Forbidden):
    code = "console_role_forbidden"


class CsrfRefused(Forbidden):
    code = "csrf_token_invalid"


def read_session(request: Request) -> Iterator[Session]:
    """Pages only read: a snapshot that takes no write lock (SQLite) and commits nothing."""
    with read_snapshot(request.app.state.session_factory) as session:
        yield session


ReadSessionDep = Annotated[Session, Depends(read_session)]


def current_operator(request: Request) -> ConsoleOperator:
    if "signature" in request.headers or "signature-input" in request.headers:
        raise SignedRequestRefused("Console pages are opened by signing in, not by an API key.")
    token = request.cookies.get(COOKIE)
    operator = None
    if token:
        with read_snapshot(request.app.state.session_factory) as session:
            operator = accounts.current(session=session, token=token, now=utcnow())
    if operator is None:
        raise SignInRequired("Sign in to the console first.")
    return operator


OperatorDep = Annotated[ConsoleOperator, Depends(current_operator)]


def require(operator: ConsoleOperator, roles: Sequence[OperatorRole]) -> None:
    """Roles are checked here, on the server, whatever a page showed or hid."""
    if operator.role not in roles:
        raise RoleForbidden("Your role does not allow this page or action.")


async def checked_form(request: Request, operator: OperatorDep) -> dict[str, str]:
    """The posted form, once its CSRF token is this session's (constant-time compare)."""
    form = await request.form()
    given = form.get("csrf")
    if not isinstance(given, str) or not hmac.compare_digest(given, operator.csrf_token):
        raise CsrfRefused("This form is stale or forged; reload the page.")
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormDep = Annotated[dict[str, str], Depends(checked_form)]


def render(
    request: Request,
    name: str,
    operator: ConsoleOperator | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    language = operator.language if operator else _browser_language(request)

    def t(key: str, **values: object) -> str:
        return i18n.translate(key, language, **values)

    response = templates.TemplateResponse(
        request,
        name,
        {
            "operator": operator,
            "lang": language,
            "t": t,
            "when": lambda moment, region=None: i18n.when(moment, language, region),
            "number": lambda value, digits=0: i18n.number(value, language, digits),
            "percent": lambda value: i18n.percent(value, language),
            "day": lambda value: i18n.day(value, language),
            "prefix": PREFIX,
            "done": request.query_params.get("done") == "1",
            **context,
        },
        status_code=status,
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def _browser_language(request: Request) -> str:
    """Before sign-in, the browser's first choice between the two (Indonesian otherwise)."""
    for entry in request.headers.get("accept-language", "").split(","):
        tag = entry.split(";")[0].strip().lower()[:2]
        if tag in accounts.LANGUAGES:
            return tag
    return "id"


def act(
    request: Request,
    session: Session,
    operator: ConsoleOperator,
    change: Callable[[], object],
    *,
    back_to: str,
) -> Response:
    """Run one service call in a savepoint: on success back to `back_to` (POST, redirect,
    GET), on a refusal the error page with the service's status and sentence, and nothing of
    the refused change kept."""
    try:
        with session.begin_nested():
            change()
    except GatewayError as exc:
        return render(request, "error.html", operator, status=exc.status, error=exc)
    return RedirectResponse(f"{back_to}?done=1", status_code=303)


def page_of(error: GatewayError, request: Request) -> Response:
    """A console refusal: sign-in page for a browser without a session, else the error."""
    if isinstance(error, SignInRequired) and request.method == "GET":
        return RedirectResponse(f"{PREFIX}/sign-in", status_code=303)
    operator = None
    if not isinstance(error, SignInRequired):
        operator = current_operator(request)  # refused by role or CSRF: signed in, so known
    return render(request, "error.html", operator, status=error.status, error=error)
