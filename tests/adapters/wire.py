"""A transport that keeps what crosses the wire, to check the bytes really exchanged."""

from __future__ import annotations

import httpx


class Recorder(httpx.BaseTransport):
    """Keeps every request and response body, in order, passing each exchange through."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.read())
        response = self.inner.handle_request(request)
        self.bodies.append(response.read())
        return response
