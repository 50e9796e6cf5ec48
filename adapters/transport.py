"""A synchronous httpx transport that serves requests from an in-process ASGI app.

httpx ships `ASGITransport` for async clients only; the adapters are synchronous (the payout
worker calls them from threads), so this bridges the two: each calling thread drives the app on
an event loop of its own, and a caller already inside a running loop is served by a private
loop thread instead. A real transport, like httpx's own, with no network in between; tests and
the demo use it to run the HTTP adapters against the simulated bank servers.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx


class InProcessTransport(httpx.BaseTransport):
    """Send each request to `app` and wait for the answer, without a socket."""

    def __init__(self, app: Any) -> None:
        # raise_app_exceptions=False: a crash in the bank becomes a 500, as on a real wire.
        self._inner = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._local = threading.local()
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()
        self._background: tuple[asyncio.AbstractEventLoop, threading.Thread] | None = None

    def _thread_loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop | None = getattr(self._local, "loop", None)
        if loop is None:
            loop = asyncio.new_event_loop()
            self._local.loop = loop
            with self._lock:
                self._loops.append(loop)
        return loop

    def _background_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._background is None:
                loop = asyncio.new_event_loop()
                # A daemon thread: a transport nobody closed must not keep the process alive.
                thread = threading.Thread(target=loop.run_forever, daemon=True)
                thread.start()
                self._background = (loop, thread)
            return self._background[0]

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

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._thread_loop().run_until_complete(forward())
        return asyncio.run_coroutine_threadsafe(forward(), self._background_loop()).result()

    def close(self) -> None:
        with self._lock:
            loops, self._loops = self._loops, []
            background, self._background = self._background, None
        for loop in loops:
            if not loop.is_running():
                loop.close()
        if background is not None:
            loop, thread = background
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
