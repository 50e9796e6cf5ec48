"""WSQ payloads are decoded out of process: damaged data that crashes NBIS's decoder is
refused with a typed error, and the next capture still decodes."""

from __future__ import annotations

import numpy as np

from matcher.records.errors import CaptureRecordError
from matcher.records.payload import Compression, decode_pixels, encode_pixels
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.ridges import master_fingerprint


def test_damaged_wsq_never_takes_the_process_down() -> None:
    image = impression_image(master_fingerprint(31), 1).image[:200, :160]
    valid = encode_pixels(image, Compression.WSQ)
    rng = np.random.default_rng(1)
    reasons = []
    for _ in range(200):
        damaged = bytearray(valid)
        if rng.integers(3) == 0:
            damaged = damaged[: rng.integers(2, len(damaged))]
        for _ in range(rng.integers(1, 4)):
            damaged[rng.integers(len(damaged))] = rng.integers(256)
        try:
            decode_pixels(
                bytes(damaged), Compression.WSQ, width=160, height=200, bit_depth=8, field="f"
            )
        except CaptureRecordError as exc:
            assert exc.field == "f"
            reasons.append(str(exc))
    # Among these, data that kills the decoder's process (NBIS reads out of bounds).
    assert any("the WSQ decoder failed on this data" in r for r in reasons)
    pixels = decode_pixels(valid, Compression.WSQ, width=160, height=200, bit_depth=8, field="f")
    assert pixels.shape == (200, 160)
