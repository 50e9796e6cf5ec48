"""ISO/IEC 19794-2:2011 finger minutiae records (version `030`).

The 2011 edition follows ISO/IEC 19794-1:2011: a 15-byte general header (`FMR\\0`, `030\\0`,
record length 4, number of finger representations 2, certification flag 1), then per
representation its length (4, counting itself), the common capture header
(`matcher.records.representation`), finger position (1), representation number (1), x/y
resolution in pixels per cm (2 + 2), impression type (1), image width and height (2 + 2),
minutia field length (high nibble, 5 or 6 bytes: 5 carries no quality) with the ridge-ending
type (low nibble), minutia count (1), minutiae, and the extended data area (length 2, blocks).
Image size and resolution are per representation. Minutia quality 254 (not computed) and 255
(failed) read as 0, "not reported"; written, 0 becomes 254.
"""

from __future__ import annotations

import struct

import numpy as np

from matcher.fingerprint.fmr import (
    ANGLE_UNITS,
    ISO_2011,
    MAGIC,
    ExtendedConvention,
    FingerView,
    MinutiaeRecord,
    angles_in,
    check_minutiae,
    check_resolution,
    cursor,
    decide_convention,
    finish,
    read_extended,
    read_minutiae,
    write_extended,
    write_minutiae,
)
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.records.cursor import Cursor
from matcher.records.representation import (
    QUALITY_NOT_COMPUTED,
    capture_or_quality,
    check_representation_end,
    frame,
    read_record_header,
    read_representation_start,
    write_capture_info,
)

VERSION = b"030\x00"
HEADER_SIZE = 15


def decode(data: bytes) -> MinutiaeRecord:
    """Parse a 2011-edition record; `TemplateFormatError` names the field on any defect."""
    data = bytes(data)
    cur = cursor(data)
    cur.identify(MAGIC, (VERSION,), "an ISO/IEC 19794-2 record")
    stated, count, certified = read_record_header(cur, HEADER_SIZE)
    start = cur.pos

    def parse(convention: ExtendedConvention) -> MinutiaeRecord:
        reps = cursor(data, start)
        views = [_read_representation(reps, i, certified, convention) for i in range(count)]
        padding, warnings = finish(data, reps.pos, stated)
        return MinutiaeRecord(
            format=ISO_2011,
            views=tuple(views),
            record_length=stated,
            padding=padding,
            warnings=warnings,
            convention=convention,
            certification_flag=certified,
        )

    return decide_convention(parse)


def _read_representation(
    cur: Cursor, index: int, certified: bool, convention: ExtendedConvention
) -> FingerView:
    name = f"representation[{index}]"
    begin, length, capture = read_representation_start(cur, name, certified=certified)
    position = cur.u8(f"{name}.finger_position")
    number = cur.u8(f"{name}.representation_number")
    x_res, y_res = cur.u16(f"{name}.x_resolution"), cur.u16(f"{name}.y_resolution")
    check_resolution(x_res, y_res, name)
    impression = cur.u8(f"{name}.impression_type")
    width, height = cur.u16(f"{name}.image_width"), cur.u16(f"{name}.image_height")
    layout = cur.u8(f"{name}.minutia_field_length")
    size, ending = layout >> 4, layout & 0x0F
    if size not in (5, 6):
        raise TemplateFormatError(f"{name}.minutia_field_length", f"{size} is neither 5 nor 6")
    if ending > 1:
        raise TemplateFormatError(f"{name}.ridge_ending_type", f"{ending} is neither 0 nor 1")
    n = cur.u8(f"{name}.minutia_count")
    x, y, kind, angle, quality = read_minutiae(cur, n, size, name, ANGLE_UNITS[ISO_2011])
    view = FingerView(
        finger_position=position,
        view_number=number,
        impression_type=impression,
        quality=capture.quality_score,
        x=x,
        y=y,
        kind=kind,
        angle=angle,
        minutia_quality=quality,
        width=width,
        height=height,
        x_resolution=x_res,
        y_resolution=y_res,
        capture=capture,
        ridge_ending_type=ending,
    )
    check_minutiae(name, view, quality_above_100=True)
    unreported = view.minutia_quality >= QUALITY_NOT_COMPUTED
    if unreported.any():
        quality[unreported] = 0
    extended = read_extended(cur, name, convention)
    check_representation_end(cur, name, begin, length)
    return FingerView(**{**view.__dict__, "minutia_quality": quality, "extended": extended})


def encode(record: MinutiaeRecord) -> bytes:
    """Serialise a record (of any minutiae format) as ISO/IEC 19794-2:2011."""
    if not 1 <= len(record.views) <= 0xFFFF:
        raise TemplateFormatError("number_of_representations", f"{len(record.views)} views")
    certified = record.certification_flag or any(
        v.capture is not None and v.capture.certifications for v in record.views
    )
    reps = b"".join(
        _write_representation(record, i, view, certified) for i, view in enumerate(record.views)
    )
    header = (
        MAGIC + VERSION + struct.pack(">IHB", HEADER_SIZE + len(reps), len(record.views), certified)
    )
    return header + reps


def _write_representation(
    record: MinutiaeRecord, index: int, view: FingerView, certified: bool
) -> bytes:
    name = f"representation[{index}]"
    for part, value, top in (
        ("minutia_count", len(view), 255),
        ("finger_position", view.finger_position, 255),
        ("representation_number", view.view_number, 255),
        ("impression_type", view.impression_type, 255),
        ("image_width", view.width, 0xFFFF),
        ("image_height", view.height, 0xFFFF),
    ):
        if not 0 <= value <= top:
            raise TemplateFormatError(f"{name}.{part}", f"{value} is not in 0..{top}")
    body = write_capture_info(capture_or_quality(view.capture, view.quality), certified=certified)
    body += struct.pack(
        ">BBHHBHHBB",
        view.finger_position,
        view.view_number,
        view.x_resolution,
        view.y_resolution,
        view.impression_type,
        view.width,
        view.height,
        (6 << 4) | view.ridge_ending_type,
        len(view),
    )
    angles = angles_in(view, record.format, ISO_2011)
    coded = np.where(view.minutia_quality == 0, QUALITY_NOT_COMPUTED, view.minutia_quality)
    body += write_minutiae(view, name, angles, coded.astype(np.uint8))
    body += write_extended(view.extended)
    return frame(body)
