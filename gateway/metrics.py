"""Prometheus metrics: request counts and latency per route template."""

from __future__ import annotations

import logging
import re
import time
import uuid

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters import retry
from gateway.errors import error_response
from gateway.logs import request_id_var

log = logging.getLogger("gateway.errors")

# A client's request id is echoed in headers, bodies and logs: short and plain, or replaced.
CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# Buckets around the latency targets (verify p99 100 ms, pay p99 250 ms).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """A registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "satupintu_http_requests_total",
            "HTTP requests by route, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "satupintu_http_request_duration_seconds",
            "HTTP request latency by route and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def render(self) -> Response:
        """The app's own series, then those of the bank clients' retry policy."""
        body = generate_latest(self.registry) + generate_latest(retry.REGISTRY)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def request_id_of(given: str | None) -> str:
    """The client's id when it is short and plain, else a fresh one (never an echo of junk)."""
    if given is not None and CLIENT_REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


class _Observe:
    """Request id and metrics per request, as plain ASGI: Starlette's `BaseHTTPMiddleware`
    runs the route in a task of its own behind memory streams, which cost a verify request
    noticeably more CPU than the route's own bookkeeping.

    The outermost layer of the app, so every answer (a size refusal, an unexpected error)
    carries the request id and is counted."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(Headers(scope=scope).get("x-request-id"))
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        started_answer = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_answer
            if message["type"] == "http.response.start":
                status, started_answer = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            log.exception("unhandled error", extra={"error_type": type(exc).__name__})
            if started_answer:
                raise
            answer = error_response(
                "internal_error", "An unexpected error occurred.", request_id, 500
            )
            await answer(scope, receive, send_with_id)
        finally:
            # The path template (`/v1/x/{id}`), never the concrete path: bounded cardinality.
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            method = scope["method"]
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
            request_id_var.reset(token)


def install_metrics(app: FastAPI, metrics: Metrics) -> None:
    app.add_middleware(_Observe, metrics=metrics)
