"""Typed errors with a machine-readable code, and their one mapping to HTTP responses."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class GatewayError(Exception):
    """Base of every error the API reports: a stable code, an HTTP status and a sentence."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.details = details


class InvalidInput(GatewayError):
    status = 422
    code = "invalid_input"


class NotFound(GatewayError):
    status = 404
    code = "not_found"


class Conflict(GatewayError):
    status = 409
    code = "conflict"


class Unauthorized(GatewayError):
    status = 401
    code = "unauthorized"


class Forbidden(GatewayError):
    status = 403
    code = "forbidden"


class TooManyRequests(GatewayError):
    status = 429
    code = "rate_limited"


class Unavailable(GatewayError):
    status = 503
    code = "unavailable"


# Statuses Starlette raises itself, by the code the error shape gives them.
HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def error_body(code: str, message: str, request: Request, **details: Any) -> dict[str, Any]:
    """The one documented error shape: `{"error": {"code", "message", ...}, "request_id"}`."""
    return _shape(code, message, getattr(request.state, "request_id", None), details)


def error_response(code: str, message: str, request_id: str | None, status: int) -> JSONResponse:
    """The error shape for answers given outside FastAPI's handlers (plain ASGI middleware)."""
    return JSONResponse(_shape(code, message, request_id, {}), status_code=status)


def _shape(
    code: str, message: str, request_id: str | None, details: dict[str, Any]
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error, "request_id": request_id}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(request: Request, exc: GatewayError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, request, **exc.details), status_code=exc.status
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A body refused before the route's signature check ran (not even JSON) is answered
        # as an unsigned request would be: no schema feedback for who has not signed.
        signature_first = getattr(request.app.state, "signature_first", None)
        if signature_first is not None:
            try:
                await signature_first(request)
            except GatewayError as refused:
                return await _gateway_error(request, refused)
        # Only locations and messages: the offending input may be a NIK or a template.
        problems = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", "")}
            for err in exc.errors()
        ]
        body = error_body(
            "invalid_request", "The request is malformed.", request, problems=problems
        )
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail), request),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
