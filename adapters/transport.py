"""A synchronous httpx transport that serves requests from an in-process ASGI app.

httpx ships `ASGITransport` for async clients only; the adapters are synchronous (the payout
worker calls them from threads), so this bridges the two through an event loop on a private
daemon thread: a real transport, like httpx's own, with no network in between. Tests and the
demo use it to run the HTTP adapters against the simulated bank servers.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx


class InProcessTransport(httpx.BaseTransport):
    """Send each request to `app` on the transport's own event loop and wait for the answer."""

    def __init__(self, app: Any) -> None:
        # raise_app_exceptions=False: a crash in the bank becomes a 500, as on a real wire.
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._loop = asyncio.new_event_loop()
        # A daemon thread: a transport nobody closed must not keep the interpreter alive.
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="in-process-bank", daemon=True
        )
        self._thread.start()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()

        async def forward() -> httpx.Response:
            inner = httpx.Request(
                request.method, request.url, headers=request.headers, content=content
            )
            response = await self._inner.handle_async_request(inner)
            body = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=body, request=request
            )

        return asyncio.run_coroutine_threadsafe(forward(), self._loop).result()

    def close(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        if not self._loop.is_running() and not self._loop.is_closed():
            self._loop.close()
