"""Hooks `gateway.app` calls: the console's pages, assets, gauges and request window."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from gateway.console import endpoints
from gateway.console.dashboard import RegisterCounts
from gateway.console.metrics import DashboardCollector
from gateway.console.settings import ConsoleSettings
from gateway.console.web import PREFIX, CsrfRefused, RoleForbidden, SignInRequired, page_of
from gateway.console.window import RequestWindow
from gateway.errors import GatewayError


def install(app: FastAPI, settings: ConsoleSettings) -> None:
    """Pages, their own script and styles, HTML refusals, and the dashboard's gauges."""
    app.include_router(endpoints.router)
    app.mount(
        f"{PREFIX}/static",
        StaticFiles(directory=Path(__file__).parent / "static"),
        name="console-static",
    )

    async def _page_refusal(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GatewayError)
        return page_of(exc, request)

    for refusal in (SignInRequired, RoleForbidden, CsrfRefused):
        app.add_exception_handler(refusal, _page_refusal)
    app.state.console_window = RequestWindow(app.state.metrics)
    app.state.console_register = RegisterCounts(settings.console_register_count_seconds)
    app.state.metrics.registry.register(DashboardCollector(app.state))
