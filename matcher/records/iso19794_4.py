"""ISO/IEC 19794-4 finger image records, 2005 (`010`) and 2011 (`020`) editions.

2005: a 32-byte general header (`FIR\\0`, `010\\0`, record length 6, capture device id 2,
image acquisition level 2, number of finger images 1, scale units 1 (1 = per inch, 2 = per
cm), scan resolution x/y 2 + 2, image resolution x/y 2 + 2, pixel depth 1, compression 1,
reserved 2), then per image a 14-byte view header (length 4 counting the header, finger
position 1, count of views 1, view number 1, quality 1, impression type 1, width 2, height 2,
reserved 1) and the image data. Compression: 0 raw, 1 raw bit-packed, 2 WSQ, 3 JPEG,
4 JPEG 2000, 5 PNG.

2011: a 16-byte general header (`FIR\\0`, `020\\0`, record length 4, number of
representations 2, certification flag 1, number of distinct positions 1), then per
representation its length (4), the common capture header (`representation`), finger
position 1, representation number 1, scale units 1, scan sampling rate x/y 2 + 2, image
sampling rate x/y 2 + 2, bit depth 1, compression 1 (0 raw, 1 bit-packed, 2 WSQ, 3 JPEG,
4 JPEG 2000 lossy, 5 JPEG 2000 lossless, 6 PNG), impression type 1, width 2, height 2, image
data length 4, the image data, and any extended data up to the representation's length.

The image resolution (not the scan resolution) is what the pixels are at, so that is the one
the intake uses.
"""

from __future__ import annotations

import struct

from matcher.records.cursor import Cursor
from matcher.records.errors import CaptureRecordError, CaptureRecordTruncated
from matcher.records.model import (
    FINGER_2005,
    FINGER_2011,
    PER_CM,
    PER_INCH,
    CaptureRecord,
    ImageRepresentation,
    record_end,
)
from matcher.records.payload import Compression
from matcher.records.representation import (
    capture_or_quality,
    frame,
    read_record_header,
    read_representation_start,
    write_capture_info,
)

MAGIC = b"FIR\x00"
VERSION_2005 = b"010\x00"
VERSION_2011 = b"020\x00"
HEADER_2005 = 32
VIEW_HEADER_2005 = 14
HEADER_2011 = 16
CODES_2005 = {
    0: Compression.RAW,
    1: Compression.RAW_BIT_PACKED,
    2: Compression.WSQ,
    3: Compression.JPEG,
    4: Compression.JPEG2000,
    5: Compression.PNG,
}
CODES_2011 = {
    0: Compression.RAW,
    1: Compression.RAW_BIT_PACKED,
    2: Compression.WSQ,
    3: Compression.JPEG,
    4: Compression.JPEG2000,
    5: Compression.JPEG2000,
    6: Compression.PNG,
}
# What each edition writes for a compression. The 2011 edition tells lossy JPEG 2000 (4) from
# lossless (5): a representation read from a 2011 record keeps its code, any other JPEG 2000
# is written as lossy, the claim that holds whatever its history.
WRITE_2005 = {c: code for code, c in CODES_2005.items()}
WRITE_2011 = {c: code for code, c in CODES_2011.items() if code != 5}


def _cursor(data: bytes, pos: int = 0) -> Cursor:
    return Cursor(data, error=CaptureRecordError, truncated=CaptureRecordTruncated, pos=pos)


def decode(data: bytes) -> CaptureRecord:
    """Parse a finger image record of either edition; errors name the field that is wrong."""
    data = bytes(data)
    cur = _cursor(data)
    version = cur.identify(MAGIC, (VERSION_2005, VERSION_2011), "an ISO/IEC 19794-4 record")
    return _decode_2005(data, cur) if version == VERSION_2005 else _decode_2011(data, cur)


def _check_units(cur: Cursor, units: int, x_res: int, y_res: int, name: str) -> None:
    if units not in (PER_INCH, PER_CM):
        raise cur.fail(f"{name}scale_units", f"{units} is neither 1 (per inch) nor 2 (per cm)")
    if x_res == 0 or y_res == 0:
        which = "x" if x_res == 0 else "y"
        raise cur.fail(f"{name}{which}_image_resolution", "resolution must not be zero")


def _compression(cur: Cursor, code: int, codes: dict[int, Compression], name: str) -> Compression:
    if code not in codes:
        raise cur.fail(name, f"compression code {code} is not defined by the standard")
    return codes[code]


def _decode_2005(data: bytes, cur: Cursor) -> CaptureRecord:
    stated = (cur.u16("record_length") << 32) | cur.u32("record_length")
    if stated < HEADER_2005:
        raise cur.fail("record_length", f"{stated} is shorter than the {HEADER_2005}-byte header")
    device = cur.u16("capture_device_id")
    level = cur.u16("image_acquisition_level")
    count = cur.u8("number_of_finger_images")
    units = cur.u8("scale_units")
    scan = (cur.u16("x_scan_resolution"), cur.u16("y_scan_resolution"))
    x_res, y_res = cur.u16("x_image_resolution"), cur.u16("y_image_resolution")
    depth = cur.u8("pixel_depth")
    code = cur.u8("image_compression_algorithm")
    compression = _compression(cur, code, CODES_2005, "image_compression_algorithm")
    cur.take(2, "reserved")
    _check_units(cur, units, x_res, y_res, "")
    if count == 0:
        raise cur.fail("number_of_finger_images", "a record holds at least one image")
    reps = []
    for i in range(count):
        name = f"view[{i}]"
        begin = cur.pos
        length = cur.u32(f"{name}.length")
        if length < VIEW_HEADER_2005:
            raise cur.fail(f"{name}.length", f"{length} is shorter than the 14-byte view header")
        position, views, number, quality, impression = cur.take(5, f"{name}.header")
        width, height = cur.u16(f"{name}.width"), cur.u16(f"{name}.height")
        cur.u8(f"{name}.reserved")
        if quality > 100 and quality != 254:
            raise cur.fail(f"{name}.quality", f"{quality} is neither 0–100 nor 254 (undefined)")
        image = cur.take(length - (cur.pos - begin), f"{name}.image_data")
        reps.append(
            ImageRepresentation(
                position=position,
                number=number,
                quality=quality if quality <= 100 else 0,
                width=width,
                height=height,
                bit_depth=depth,
                compression=compression,
                data=image,
                impression_type=impression,
                scale_units=units,
                x_resolution=x_res,
                y_resolution=y_res,
                details={"count_of_views": views},
            )
        )
    padding, warnings = record_end(data, cur.pos, stated, CaptureRecordError)
    header = {
        "capture_device_id": device,
        "image_acquisition_level": level,
        "scan_resolution": list(scan),
        "scale_units": units,
    }
    return CaptureRecord(FINGER_2005, tuple(reps), stated, padding, warnings, header)


def _decode_2011(data: bytes, cur: Cursor) -> CaptureRecord:
    stated, count, certified = read_record_header(cur, HEADER_2011)
    positions = cur.u8("number_of_positions")
    reps = [_read_representation(cur, i, certified) for i in range(count)]
    padding, warnings = record_end(data, cur.pos, stated, CaptureRecordError)
    header = {"certification_flag": certified, "number_of_positions": positions}
    return CaptureRecord(FINGER_2011, tuple(reps), stated, padding, warnings, header)


def _read_representation(cur: Cursor, index: int, certified: bool) -> ImageRepresentation:
    name = f"representation[{index}]"
    begin, length, capture = read_representation_start(cur, name, certified=certified)
    position = cur.u8(f"{name}.finger_position")
    number = cur.u8(f"{name}.representation_number")
    units = cur.u8(f"{name}.scale_units")
    scan = (cur.u16(f"{name}.x_scan_sampling_rate"), cur.u16(f"{name}.y_scan_sampling_rate"))
    x_res = cur.u16(f"{name}.x_image_sampling_rate")
    y_res = cur.u16(f"{name}.y_image_sampling_rate")
    depth = cur.u8(f"{name}.bit_depth")
    code = cur.u8(f"{name}.compression_algorithm")
    compression = _compression(cur, code, CODES_2011, f"{name}.compression_algorithm")
    impression = cur.u8(f"{name}.impression_type")
    width, height = cur.u16(f"{name}.width"), cur.u16(f"{name}.height")
    _check_units(cur, units, x_res, y_res, f"{name}.")
    image = cur.take(cur.u32(f"{name}.image_data_length"), f"{name}.image_data")
    extended = length - (cur.pos - begin)
    if extended < 0:
        raise cur.fail(
            f"{name}.length", f"states {length} bytes, the header and image alone take more"
        )
    cur.take(extended, f"{name}.extended_data")
    return ImageRepresentation(
        position=position,
        number=number,
        quality=capture.quality_score,
        width=width,
        height=height,
        bit_depth=depth,
        compression=compression,
        data=image,
        impression_type=impression,
        scale_units=units,
        x_resolution=x_res,
        y_resolution=y_res,
        capture=capture,
        details={
            "scan_sampling_rate": list(scan),
            "compression_code": code,
            "extended_data_bytes": extended,
        },
    )


def encode(representations: list[ImageRepresentation], *, edition: str = FINGER_2011) -> bytes:
    """A finger image record holding `representations` (their payloads already coded)."""
    if not representations:
        raise CaptureRecordError("number_of_representations", "a record holds at least one")
    if edition == FINGER_2005:
        return _encode_2005(representations)
    if edition != FINGER_2011:
        raise CaptureRecordError("edition", f"{edition!r} is not a finger image record edition")
    certified = any(r.capture is not None and r.capture.certifications for r in representations)
    body = b"".join(_write_representation(r, i, certified) for i, r in enumerate(representations))
    positions = len({r.position for r in representations})
    header = MAGIC + VERSION_2011
    header += struct.pack(
        ">IHBB", HEADER_2011 + len(body), len(representations), certified, positions
    )
    return header + body


def _write_representation(rep: ImageRepresentation, index: int, certified: bool) -> bytes:
    if rep.compression not in WRITE_2011:
        raise CaptureRecordError(f"representation[{index}].compression", "not writable")
    body = write_capture_info(capture_or_quality(rep.capture, rep.quality), certified=certified)
    body += struct.pack(
        ">BBBHHHHBBBHHI",
        rep.position,
        rep.number,
        rep.scale_units,
        rep.x_resolution,
        rep.y_resolution,
        rep.x_resolution,
        rep.y_resolution,
        rep.bit_depth,
        _code_2011(rep),
        rep.impression_type,
        rep.width,
        rep.height,
        len(rep.data),
    )
    return frame(body + rep.data)


def _code_2011(rep: ImageRepresentation) -> int:
    stated = rep.details.get("compression_code")
    if isinstance(stated, int) and CODES_2011.get(stated) is rep.compression:
        return stated
    return WRITE_2011[rep.compression]


def convert(data: bytes, edition: str) -> bytes:
    """A finger image record re-framed in the other edition, image data untouched."""
    record = decode(data)
    return encode(list(record.representations), edition=edition)


def _encode_2005(representations: list[ImageRepresentation]) -> bytes:
    first = representations[0]
    for i, rep in enumerate(representations):
        shared = (rep.scale_units, rep.x_resolution, rep.y_resolution, rep.compression)
        if shared != (first.scale_units, first.x_resolution, first.y_resolution, first.compression):
            raise CaptureRecordError(
                f"view[{i}]", "the 2005 edition states one resolution and compression per record"
            )
    views = b"".join(
        struct.pack(
            ">IBBBBBHHB",
            VIEW_HEADER_2005 + len(rep.data),
            rep.position,
            1,
            rep.number,
            rep.quality,
            rep.impression_type,
            rep.width,
            rep.height,
            0,
        )
        + rep.data
        for rep in representations
    )
    length = HEADER_2005 + len(views)
    header = MAGIC + VERSION_2005 + struct.pack(">HI", length >> 32, length & 0xFFFFFFFF)
    header += struct.pack(
        ">HHBBHHHHBBH",
        0,
        31,
        len(representations),
        first.scale_units,
        first.x_resolution,
        first.y_resolution,
        first.x_resolution,
        first.y_resolution,
        first.bit_depth,
        WRITE_2005[first.compression],
        0,
    )
    return header + views
