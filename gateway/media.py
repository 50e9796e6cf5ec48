"""Content-type checks, so a wrong body type gets 415 with a code instead of a parse error."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from gateway.errors import GatewayError


class UnsupportedMediaType(GatewayError):
    status = 415
    code = "unsupported_media_type"


def require_content_type(*media_types: str) -> Any:
    """A dependency admitting only bodies of the given media types (parameters ignored).

    Async, as every dependency that does no I/O: FastAPI runs a sync one in a worker thread,
    a round trip that cost more than the check itself on every request.
    """

    async def _check(request: Request) -> None:
        declared = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if declared not in media_types:
            raise UnsupportedMediaType(
                f"This endpoint takes {' or '.join(media_types)}, not {declared or 'no type'}."
            )

    return Depends(_check)


# Every route that takes a JSON body admits it only under its declared media type.
JSON = require_content_type("application/json")
