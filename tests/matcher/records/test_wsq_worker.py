"""WSQ payloads are decoded out of process: damaged data, a child that crashes (as NBIS's
decoder does on some damaged data) or hangs, each end in a typed refusal, and the next
capture still decodes."""

from __future__ import annotations

import functools
import sys

import numpy as np
import pytest
from numpy.typing import NDArray

from matcher.records import wsq_worker
from matcher.records.errors import CaptureRecordError
from matcher.records.payload import Compression, decode_pixels, encode_pixels
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.ridges import master_fingerprint


@functools.cache
def image() -> NDArray[np.uint8]:
    return impression_image(master_fingerprint(31), 1).image[:200, :160]


def _decode(data: bytes) -> NDArray[np.uint8]:
    return decode_pixels(data, Compression.WSQ, width=160, height=200, bit_depth=8, field="f")


def test_damaged_wsq_raises_only_typed_errors() -> None:
    """Run in-process, some of these kill the interpreter (NBIS reads out of bounds)."""
    valid = encode_pixels(image(), Compression.WSQ)
    rng = np.random.default_rng(1)
    for _ in range(200):
        damaged = bytearray(valid)
        if rng.integers(3) == 0:
            damaged = damaged[: rng.integers(2, len(damaged))]
        for _ in range(rng.integers(1, 4)):
            damaged[rng.integers(len(damaged))] = rng.integers(256)
        try:
            _decode(bytes(damaged))
        except CaptureRecordError as exc:
            assert exc.field == "f" and str(exc).startswith("f: ")
    assert _decode(valid).shape == (200, 160)


@pytest.mark.parametrize(
    ("child", "timeout"),
    [
        ("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)", 10.0),
        ("import time; time.sleep(30)", 0.5),
    ],
)
def test_a_crashed_or_hung_child_refuses_only_its_capture(
    child: str, timeout: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    valid = encode_pixels(image(), Compression.WSQ)
    while not wsq_worker._idle.empty():  # start from fresh children of the patched kind
        wsq_worker._idle.get_nowait().close()
    with monkeypatch.context() as patch:
        patch.setattr(wsq_worker, "COMMAND", [sys.executable, "-c", child])
        patch.setattr(wsq_worker, "TIMEOUT_SECONDS", timeout)
        with pytest.raises(CaptureRecordError, match="the WSQ decoder failed on this data"):
            _decode(valid)
    assert wsq_worker._idle.empty()  # the dead child was not kept
    assert _decode(valid).shape == (200, 160)
