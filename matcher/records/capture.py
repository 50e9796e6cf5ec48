"""Capture records in and out: what the intake needs from a finger or iris image record.

`finger_image` and `iris_image` turn a record into the pixels (and, for fingers, the
resolution the record states) that the image pipelines already take; `finger_image_record`
and `iris_image_record` build records from sensor pixels the way capture devices do.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from matcher.records import iso19794_4, iso19794_6
from matcher.records.errors import CaptureRecordError
from matcher.records.model import (
    FINGER_2011,
    PER_INCH,
    CaptureRecord,
    ImageRepresentation,
)
from matcher.records.payload import Compression, encode_pixels

DECODERS = {iso19794_4.MAGIC: iso19794_4.decode, iso19794_6.MAGIC: iso19794_6.decode}


def is_capture_record(data: bytes) -> bool:
    return bytes(data[:4]) in DECODERS


def decode_capture_record(data: bytes) -> CaptureRecord:
    """A finger (19794-4) or iris (19794-6) image record, by its format identifier."""
    decoder = DECODERS.get(bytes(data[:4]))
    if decoder is None:
        raise CaptureRecordError(
            "format_identifier", "neither a finger (FIR) nor an iris (IIR) image record"
        )
    return decoder(bytes(data))


def _choose(record: CaptureRecord, position: int, what: str) -> tuple[int, ImageRepresentation]:
    """The best representation of `position`; an only one stating "unknown" (0) also fits."""
    reps = list(enumerate(record.representations))
    chosen = [(i, r) for i, r in reps if r.position == position]
    if not chosen and len(reps) == 1 and reps[0][1].position == 0:
        chosen = reps
    if not chosen:
        stated = sorted({r.position for r in record.representations})
        raise CaptureRecordError(
            "representation", f"the record holds no {what} {position} (it holds {stated})"
        )
    return max(chosen, key=lambda item: item[1].quality)


def finger_image(data: bytes, *, position: int) -> tuple[NDArray[np.uint8], int]:
    """Pixels of the record's image of finger `position` and its stated resolution in dpi.

    Pixels that are not square (different x and y sampling rates) are resampled to the
    horizontal rate, so the one resolution returned holds in both directions.
    """
    record = decode_capture_record(data)
    if not record.format.startswith("iso19794-4"):
        raise CaptureRecordError("format_identifier", "an iris record sent as a finger capture")
    index, rep = _choose(record, position, "finger position")
    name = f"{'view' if record.format.endswith('2005') else 'representation'}[{index}]"
    pixels = rep.pixels(f"{name}.image_data")
    dpi = rep.dpi
    assert dpi is not None  # finger records always state it (checked non-zero on decoding)
    x_dpi, y_dpi = dpi
    if round(x_dpi) != round(y_dpi):
        rows = max(1, round(pixels.shape[0] * x_dpi / y_dpi))
        pixels = np.asarray(
            cv2.resize(pixels, (pixels.shape[1], rows), interpolation=cv2.INTER_AREA),
            dtype=np.uint8,
        )
    return pixels, round(x_dpi)


def iris_image(data: bytes, *, eye: int) -> NDArray[np.uint8]:
    """Pixels of the record's image of `eye` (1 right, 2 left)."""
    record = decode_capture_record(data)
    if not record.format.startswith("iso19794-6"):
        raise CaptureRecordError("format_identifier", "a finger record sent as an iris capture")
    index, rep = _choose(record, eye, "eye")
    return rep.pixels(f"representation[{index}].image_data")


def finger_image_record(
    pixels: NDArray[np.uint8],
    *,
    position: int,
    resolution_dpi: int = 500,
    compression: Compression = Compression.WSQ,
    edition: str = FINGER_2011,
    quality: int = 0,
) -> bytes:
    """A one-image finger record as a capture device sends it (WSQ at 500 ppi by default)."""
    height, width = pixels.shape
    rep = ImageRepresentation(
        position=position,
        number=1,
        quality=quality,
        width=width,
        height=height,
        bit_depth=8,
        compression=compression,
        data=encode_pixels(pixels, compression),
        scale_units=PER_INCH,
        x_resolution=resolution_dpi,
        y_resolution=resolution_dpi,
        # `encode_pixels` codes JPEG 2000 losslessly, which the 2011 edition can say.
        details={"compression_code": 5} if compression is Compression.JPEG2000 else {},
    )
    return iso19794_4.encode([rep], edition=edition)


def iris_image_record(
    pixels: NDArray[np.uint8], *, eye: int, compression: Compression = Compression.JPEG2000
) -> bytes:
    """A one-image iris record (JPEG 2000 by default, as iris cameras deliver them)."""
    height, width = pixels.shape
    rep = ImageRepresentation(
        position=eye,
        number=1,
        quality=0,
        width=width,
        height=height,
        bit_depth=8,
        compression=compression,
        data=encode_pixels(pixels, compression),
    )
    return iso19794_6.encode([rep])


def describe_capture_record(data: bytes) -> dict[str, Any]:
    """A JSON-ready description of a capture record, each image decoded to check it."""
    record = decode_capture_record(data)
    per = "view" if record.format.endswith("2005") else "representation"
    reps = []
    for i, rep in enumerate(record.representations):
        pixels = rep.pixels(f"{per}[{i}].image_data")
        doc: dict[str, Any] = {
            "position": rep.position,
            "number": rep.number,
            "quality": rep.quality,
            "width": rep.width,
            "height": rep.height,
            "bit_depth": rep.bit_depth,
            "compression": rep.compression.value,
            "image_data_bytes": len(rep.data),
            "decoded": {"width": int(pixels.shape[1]), "height": int(pixels.shape[0])},
        }
        if rep.dpi is not None:
            doc |= {
                "impression_type": rep.impression_type,
                "scale_units": "ppi" if rep.scale_units == PER_INCH else "ppcm",
                "image_resolution": [rep.x_resolution, rep.y_resolution],
                "resolution_dpi": [round(d) for d in rep.dpi],
            }
        if rep.capture is not None:
            doc |= rep.capture.describe()
        reps.append(doc | rep.details)
    return {
        "format": record.format,
        "header": {
            "record_length": record.record_length,
            "trailing_padding_bytes": record.padding,
            "number_of_representations": len(record.representations),
            "warnings": list(record.warnings),
            **record.header,
        },
        "representations": reps,
    }
