"""Two API documents: the public one for terminals, and the operators' one behind a signature.

Anyone may read how a terminal talks to the gateway; the ops surface (register imports,
lockouts, adjudication, key rotation, biometric-update review...) is described only to a
signed, active operator, so the public document is no map of the back office.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from gateway.terminals.auth import OperatorDep, route_principal

router = APIRouter()


def _public(context: RouteContext) -> bool:
    route = context.original_route
    return not isinstance(route, APIRoute) or route_principal(route.dependant) != "operator"


def _schema(app: FastAPI, *, operators: bool) -> dict[str, Any]:
    routes = [c for c in iter_route_contexts(app.routes) if operators or _public(c)]
    return get_openapi(
        title=app.title if not operators else f"{app.title} (operators)",
        version=app.version,
        summary=app.summary,
        routes=routes,
    )


@router.get("/v1/ops/openapi.json", include_in_schema=False)
def operators_openapi(request: Request, operator: OperatorDep) -> dict[str, Any]:
    """The whole API, ops routes included, for a signed operator."""
    return _schema(request.app, operators=True)


def install(app: FastAPI) -> None:
    """`/openapi.json` (and `/docs`) describe the terminal and public routes only."""

    def public() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _schema(app, operators=False)
        return app.openapi_schema

    app.openapi = public  # type: ignore[method-assign]
    app.include_router(router)
