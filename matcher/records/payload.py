"""Image payloads of capture records: raw pixels, PNG, JPEG, JPEG 2000 and WSQ.

OpenCV (already the image library of the pipeline, built with OpenJPEG) decodes PNG, JPEG
and JPEG 2000, both the JP2 file format and a bare codestream; WSQ, the FBI's wavelet codec
that finger image records commonly carry, is decoded by `wsq` (NIST's NBIS WSQ code as a
Pillow plugin). Third-party decoders raise arbitrary exceptions on damaged data, so every
failure here becomes a `CaptureRecordError` naming the record field. WSQ is decoded in a
child process (`wsq_worker`): NBIS's decoder crashes on some damaged data.
"""

from __future__ import annotations

import io
from enum import StrEnum

import cv2
import numpy as np
import wsq  # noqa: F401  (registers the WSQ codec with Pillow)
from numpy.typing import NDArray
from PIL import Image

from matcher.records.errors import CaptureRecordError, CaptureRecordUnsupported
from matcher.records.wsq_worker import decode_wsq

# Decoding a hostile payload must not allocate without bound: no capture image is larger.
MAX_PIXELS = 4000 * 4000
JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
J2K_SIGNATURE = b"\xff\x4f\xff\x51"
WSQ_SIGNATURE = b"\xff\xa0"


class Compression(StrEnum):
    """How a record's image data is coded, whatever number each standard gives it."""

    RAW = "raw"
    RAW_BIT_PACKED = "raw-bit-packed"
    WSQ = "wsq"
    JPEG = "jpeg"
    JPEG2000 = "jpeg2000"
    PNG = "png"


def decode_pixels(
    data: bytes,
    compression: Compression,
    *,
    width: int,
    height: int,
    bit_depth: int,
    field: str,
) -> NDArray[np.uint8]:
    """8-bit grayscale pixels of a payload, checked against the size its header states."""
    if width <= 0 or height <= 0 or width * height > MAX_PIXELS:
        raise CaptureRecordError(field, f"stated image size {width}×{height} is not usable")
    if compression in (Compression.RAW, Compression.RAW_BIT_PACKED):
        if bit_depth != 8:
            raise CaptureRecordUnsupported(
                field, f"raw pixels of {bit_depth} bits are not read (8-bit grayscale only)"
            )
        if len(data) != width * height:
            raise CaptureRecordError(
                field, f"raw {width}×{height} pixels need {width * height} bytes, got {len(data)}"
            )
        return np.frombuffer(data, dtype=np.uint8).reshape(height, width).copy()
    pixels = _decode_coded(data, compression, field)
    if pixels.shape != (height, width):
        raise CaptureRecordError(
            field,
            f"the {compression.value} image is {pixels.shape[1]}×{pixels.shape[0]}, "
            f"the header states {width}×{height}",
        )
    return pixels


def _decode_coded(data: bytes, compression: Compression, field: str) -> NDArray[np.uint8]:
    if not data:
        raise CaptureRecordError(field, "the image data is empty")
    expected = {
        Compression.JPEG2000: (JP2_SIGNATURE, J2K_SIGNATURE),
        Compression.WSQ: (WSQ_SIGNATURE,),
        Compression.PNG: (b"\x89PNG\r\n\x1a\n",),
        Compression.JPEG: (b"\xff\xd8",),
    }[compression]
    if not data.startswith(expected):
        raise CaptureRecordError(
            field, f"the data does not start like {compression.value} (stated by the header)"
        )
    if compression is Compression.WSQ:
        return decode_wsq(data, max_pixels=MAX_PIXELS, field=field)
    try:
        decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    except Exception as exc:  # decoders fail in their own ways on damaged data
        raise CaptureRecordError(
            field, f"the {compression.value} image does not decode ({type(exc).__name__})"
        ) from exc
    if decoded is None or decoded.ndim != 2 or decoded.size == 0:
        raise CaptureRecordError(field, f"the {compression.value} image does not decode")
    return np.ascontiguousarray(decoded, dtype=np.uint8)


def encode_pixels(pixels: NDArray[np.uint8], compression: Compression) -> bytes:
    """A payload for `pixels` (what a capture device puts in a record); lossless but for WSQ
    and JPEG, as device profiles allow."""
    if compression is Compression.RAW:
        return np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()
    if compression is Compression.WSQ:
        out = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(out, "WSQ")
        return out.getvalue()
    ext, params = {
        Compression.PNG: (".png", []),
        Compression.JPEG: (".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]),
        Compression.JPEG2000: (".jp2", [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1000]),
    }.get(compression, ("", []))
    if not ext:
        raise CaptureRecordUnsupported("compression", f"{compression.value} is not written")
    try:
        ok, buf = cv2.imencode(ext, pixels, params)
    except cv2.error:
        ok = False
    if not ok:
        raise CaptureRecordError("image_data", f"the image could not be coded as {compression}")
    return bytes(buf.tobytes())
