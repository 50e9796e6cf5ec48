"""WSQ decoding in a child process, because NBIS's decoder crashes on some damaged data.

The `wsq` package wraps NIST's NBIS C decoder; fed damaged WSQ data it reads out of bounds
and kills the process (a segmentation fault in about one of 500 randomly damaged payloads
here). A capture from a hostile terminal must not take a gateway worker down, so WSQ is
decoded by small child processes (`python -m matcher.records.wsq_worker`, which import only
Pillow, `wsq` and numpy), one request at a time each: a child that dies or hangs is replaced
and only its own capture is refused, with a typed error.

Protocol over the child's stdin/stdout: request `>QQ` (payload length, pixel limit) then the
payload; answer `>BIIQ` (0 = pixels, 1 = a reason; width; height; length) then the bytes.
"""

from __future__ import annotations

import io
import os
import queue
import select
import struct
import subprocess
import sys
import time
from typing import BinaryIO

import numpy as np
from numpy.typing import NDArray

from matcher.records.errors import CaptureRecordError

# Children kept ready: WSQ captures of concurrent requests decode side by side.
WORKERS = 2
# A capture-sized WSQ decodes in milliseconds; a child still busy after this is stuck.
TIMEOUT_SECONDS = 10.0
COMMAND = [sys.executable, "-m", "matcher.records.wsq_worker"]
_REQUEST = struct.Struct(">QQ")
_ANSWER = struct.Struct(">BIIQ")


def _decode(data: bytes, max_pixels: int) -> NDArray[np.uint8] | str:
    """Pixels, or the reason they could not be decoded (runs in the child)."""
    import wsq  # noqa: F401  (registers the WSQ codec with Pillow)
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=["WSQ"]) as image:
            width, height = image.size
            if width * height > max_pixels:
                return f"the WSQ image is {width}×{height}, too large for a capture"
            return np.asarray(image.convert("L"), dtype=np.uint8)
    except Exception as exc:  # the decoder fails in its own ways on damaged data
        return f"the wsq image does not decode ({type(exc).__name__})"


def serve(source: BinaryIO, sink: BinaryIO) -> None:
    """The child's loop: one request in, one answer out, until the parent closes the pipe."""
    while header := source.read(_REQUEST.size):
        length, max_pixels = _REQUEST.unpack(header)
        result = _decode(source.read(length), max_pixels)
        if isinstance(result, str):
            reason = result.encode()
            sink.write(_ANSWER.pack(1, 0, 0, len(reason)) + reason)
        else:
            height, width = result.shape
            sink.write(_ANSWER.pack(0, width, height, result.size) + result.tobytes())
        sink.flush()


class _Child:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def decode(self, data: bytes, max_pixels: int) -> NDArray[np.uint8] | str | None:
        """The child's answer, or None when it died or hung (it is then killed)."""
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(_REQUEST.pack(len(data), max_pixels) + data)
            self.process.stdin.flush()
            deadline = time.monotonic() + TIMEOUT_SECONDS
            status, width, height, length = _ANSWER.unpack(self._read(_ANSWER.size, deadline))
            body = self._read(length, deadline)
        except (OSError, EOFError, TimeoutError):
            self.process.kill()
            self.process.wait()
            return None
        if status:
            return body.decode()
        return np.frombuffer(body, dtype=np.uint8).reshape(height, width).copy()

    def close(self) -> None:
        """End the child: it leaves its loop when its input closes."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()

    def _read(self, size: int, deadline: float) -> bytes:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks, missing = [], size
        while missing:
            ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(missing, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)


_idle: queue.LifoQueue[_Child] = queue.LifoQueue()


def decode_wsq(data: bytes, *, max_pixels: int, field: str) -> NDArray[np.uint8]:
    """8-bit pixels of a WSQ payload, or `CaptureRecordError` naming `field`."""
    try:
        child = _idle.get_nowait()
    except queue.Empty:
        child = _Child()
    result = child.decode(data, max_pixels)
    if result is None:
        raise CaptureRecordError(field, "the WSQ decoder failed on this data (it is damaged)")
    if _idle.qsize() < WORKERS:
        _idle.put(child)
    else:
        child.close()
    if isinstance(result, str):
        raise CaptureRecordError(field, result)
    return result


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
