"""ISO/IEC 19794-6:2011 iris image records (version `020`).

A 16-byte general header (`IIR\\0`, `020\\0`, record length 4, number of representations 2,
certification flag 1, number of eyes 1), then per representation its length (4), the common
capture header (`representation`), representation number 2, eye label 1 (0 undefined,
1 right, 2 left), image type 1 (1 uncropped, 2 VGA, 3 cropped, 7 cropped and masked), image
format 1 (2 monochrome raw, 10 JPEG 2000, 14 monochrome PNG), image properties 1
(horizontal orientation bits 0–1, vertical 2–3, compression history 6–7), width 2, height 2,
bit depth 1, range 2, roll angle 2, roll angle uncertainty 2, iris centre smallest/largest x,
smallest/largest y, iris diameter smallest/largest (2 each), image length 4, image data.
Iris records state no resolution: the iris pipeline finds the iris's size itself.
"""

from __future__ import annotations

import struct

from matcher.records.cursor import Cursor
from matcher.records.errors import CaptureRecordError, CaptureRecordTruncated
from matcher.records.model import IRIS_2011, CaptureRecord, ImageRepresentation, record_end
from matcher.records.payload import Compression
from matcher.records.representation import (
    CaptureInfo,
    check_representation_end,
    frame,
    read_record_header,
    read_representation_start,
    write_capture_info,
)

MAGIC = b"IIR\x00"
VERSION = b"020\x00"
HEADER_SIZE = 16
FORMATS = {2: Compression.RAW, 10: Compression.JPEG2000, 14: Compression.PNG}
FORMAT_CODES = {c: code for code, c in FORMATS.items()}
IMAGE_TYPES = {1: "uncropped", 2: "vga", 3: "cropped", 7: "cropped and masked"}
EYE_LABELS = {0: "undefined", 1: "right", 2: "left"}
_GEOMETRY = (
    "range",
    "roll_angle",
    "roll_angle_uncertainty",
    "iris_centre_smallest_x",
    "iris_centre_largest_x",
    "iris_centre_smallest_y",
    "iris_centre_largest_y",
    "iris_diameter_smallest",
    "iris_diameter_largest",
)


def decode(data: bytes) -> CaptureRecord:
    """Parse an iris image record; errors name the field that is wrong."""
    data = bytes(data)
    cur = Cursor(data, error=CaptureRecordError, truncated=CaptureRecordTruncated)
    cur.identify(MAGIC, (VERSION,), "an ISO/IEC 19794-6 record")
    stated, count, certified = read_record_header(cur, HEADER_SIZE)
    eyes = cur.u8("number_of_eyes")
    reps = [_read_representation(cur, i, certified) for i in range(count)]
    padding, warnings = record_end(data, cur.pos, stated, CaptureRecordError)
    header = {"certification_flag": certified, "number_of_eyes": eyes}
    return CaptureRecord(IRIS_2011, tuple(reps), stated, padding, warnings, header)


def _read_representation(cur: Cursor, index: int, certified: bool) -> ImageRepresentation:
    name = f"representation[{index}]"
    begin, length, capture = read_representation_start(cur, name, certified=certified)
    number = cur.u16(f"{name}.representation_number")
    eye = cur.u8(f"{name}.eye_label")
    if eye not in EYE_LABELS:
        raise cur.fail(f"{name}.eye_label", f"{eye} is not 0 (undefined), 1 (right) or 2 (left)")
    image_type = cur.u8(f"{name}.image_type")
    if image_type not in IMAGE_TYPES:
        raise cur.fail(f"{name}.image_type", f"{image_type} is not 1, 2, 3 or 7")
    code = cur.u8(f"{name}.image_format")
    if code not in FORMATS:
        raise cur.fail(f"{name}.image_format", f"{code} is not 2 (raw), 10 (JPEG 2000) or 14 (PNG)")
    properties = cur.u8(f"{name}.image_properties")
    width, height = cur.u16(f"{name}.width"), cur.u16(f"{name}.height")
    depth = cur.u8(f"{name}.bit_depth")
    geometry = {part: cur.u16(f"{name}.{part}") for part in _GEOMETRY}
    image = cur.take(cur.u32(f"{name}.image_length"), f"{name}.image_data")
    check_representation_end(cur, name, begin, length)
    return ImageRepresentation(
        position=eye,
        number=number,
        quality=capture.quality_score,
        width=width,
        height=height,
        bit_depth=depth,
        compression=FORMATS[code],
        data=image,
        capture=capture,
        details={
            "eye_label": EYE_LABELS[eye],
            "image_type": IMAGE_TYPES[image_type],
            "image_format": code,
            "horizontal_orientation": properties & 0x03,
            "vertical_orientation": (properties >> 2) & 0x03,
            "compression_history": properties >> 6,
            **geometry,
        },
    )


def encode(representations: list[ImageRepresentation]) -> bytes:
    """An iris image record holding `representations` (payloads already coded)."""
    if not representations:
        raise CaptureRecordError("number_of_representations", "a record holds at least one")
    certified = any(r.capture is not None and r.capture.certifications for r in representations)
    body = b""
    for i, rep in enumerate(representations):
        if rep.compression not in FORMAT_CODES:
            raise CaptureRecordError(f"representation[{i}].image_format", "not writable")
        # Cropped images, orientation "base" both ways; no range or iris geometry measured.
        fields = write_capture_info(rep.capture or CaptureInfo(), certified=certified)
        fields += struct.pack(
            ">HBBBBHHB9HI",
            rep.number,
            rep.position,
            3,
            FORMAT_CODES[rep.compression],
            0b0101,
            rep.width,
            rep.height,
            rep.bit_depth,
            *([0] * len(_GEOMETRY)),
            len(rep.data),
        )
        body += frame(fields + rep.data)
    eyes = len({r.position for r in representations})
    header = MAGIC + VERSION
    header += struct.pack(">IHBB", HEADER_SIZE + len(body), len(representations), certified, eyes)
    return header + body
