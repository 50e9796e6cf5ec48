"""WSQ decoding in a child process, because NBIS's decoder crashes on some damaged data.

The `wsq` package wraps NIST's NBIS C decoder; fed damaged WSQ data it reads out of bounds
and kills the process (a segmentation fault in about one of 500 randomly damaged payloads
here). A capture from a hostile terminal must not take a gateway worker down, so WSQ is
decoded in a small process pool: a crash there breaks only the pool, which is replaced, and
the capture is refused with a typed error. The child imports only Pillow, `wsq` and numpy.
"""

from __future__ import annotations

import io
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
from numpy.typing import NDArray

from matcher.records.errors import CaptureRecordError

# Two children: WSQ captures of concurrent requests decode side by side.
WORKERS = 2
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _decode_in_child(data: bytes, max_pixels: int) -> NDArray[np.uint8] | str:
    """Pixels, or the reason they could not be decoded (runs in the child process)."""
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


def _current_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # forkserver: children start from a clean process, not a copy of a threaded server.
            context = multiprocessing.get_context("forkserver")
            _pool = ProcessPoolExecutor(max_workers=WORKERS, mp_context=context)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def decode_wsq(data: bytes, *, max_pixels: int, field: str) -> NDArray[np.uint8]:
    """8-bit pixels of a WSQ payload, or `CaptureRecordError` naming `field`.

    A child that dies takes its pool's other jobs with it, so a job is tried once more in a
    fresh pool: an innocent capture decodes then, while damaged data crashes again and is
    refused.
    """
    for _ in range(2):
        pool = _current_pool()
        try:
            result = pool.submit(_decode_in_child, data, max_pixels).result()
        except BrokenProcessPool:
            _discard(pool)
            continue
        if isinstance(result, str):
            raise CaptureRecordError(field, result)
        return result
    raise CaptureRecordError(field, "the WSQ decoder failed on this data (it is damaged)")
