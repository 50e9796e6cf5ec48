"""The finger minutiae record model shared by ISO/IEC 19794-2 (2005, 2011) and ANSI/INCITS 378.

All three editions code a minutia the same way (type in the top two bits of x, 14-bit x and
y in image pixels, a one-byte angle, a one-byte quality) and follow a view's minutiae with an
extended data area of typed blocks; they differ in their headers, in where the image size and
resolution live (per record or per view) and in the angle unit (360/256° for ISO, 2° for
ANSI). This module holds what they share: the value types, the minutiae and extended-data
codecs, the record-length and padding rules, and the conversion to and from `MinutiaSet`.

Extended data lengths are written in two conventions in the field: the area's 2-byte length
counting itself or not, and each block's length counting its 4-byte header or only its data.
A reader decides both once per record (`decide_convention`), by which reading makes every
area's blocks add up to exactly the area's stated length and the record end where it says;
the standard convention is tried first and wins whenever it is consistent.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.template_errors import (
    TemplateFormatError,
    TemplateTruncatedError,
    TemplateVersionError,
)
from matcher.fingerprint.types import NOMINAL_DPI, MinutiaSet
from matcher.records.cursor import Cursor
from matcher.records.representation import CaptureInfo

ISO_2005 = "iso19794-2:2005"
ISO_2011 = "iso19794-2:2011"
ANSI_2004 = "ansi-incits-378:2004"
FORMATS = (ISO_2005, ISO_2011, ANSI_2004)
MAGIC = b"FMR\x00"
# Angle units per full turn: ISO 360/256°, ANSI 2° (so 0..179).
ANGLE_UNITS = {ISO_2005: 256, ISO_2011: 256, ANSI_2004: 180}
MAX_COORDINATE = (1 << 14) - 1
# 500 dpi expressed in the records' unit, pixels per centimetre (500 / 2.54 = 196.85).
NOMINAL_PX_PER_CM = 197
IMPRESSION_TYPES = {
    0: "live-scan plain",
    1: "live-scan rolled",
    2: "non-live-scan plain",
    3: "non-live-scan rolled",
    4: "latent impression",
    5: "latent tracing",
    6: "latent photo",
    7: "latent lift",
    8: "swipe",
    9: "live-scan contactless",
}

T = TypeVar("T")


def cursor(data: bytes, pos: int = 0) -> Cursor:
    """A cursor raising the template error types."""
    return Cursor(
        data,
        error=TemplateFormatError,
        truncated=TemplateTruncatedError,
        version_error=TemplateVersionError,
        pos=pos,
    )


@dataclass(frozen=True)
class ExtendedBlock:
    """One extended data block, kept raw (type 1 = ridge counts, 2 = cores and deltas)."""

    type_code: int
    data: bytes


@dataclass(frozen=True)
class ExtendedConvention:
    """How a record's extended-data lengths count: the standard reading is the default."""

    area_counts_length_field: bool = False
    block_counts_header: bool = True

    def describe(self) -> dict[str, bool]:
        return {
            "area_length_counts_its_field": self.area_counts_length_field,
            "block_length_counts_its_header": self.block_counts_header,
        }


# The standard convention first: it wins whenever it reads the record consistently.
CONVENTIONS = (
    ExtendedConvention(False, True),
    ExtendedConvention(False, False),
    ExtendedConvention(True, True),
    ExtendedConvention(True, False),
)


@dataclass(frozen=True, eq=False)
class FingerView:
    """One finger view exactly as coded (integer units, record pixels, no rescaling).

    `quality` is the view's 0–100 quality (2011: its first usable quality block); minutia
    quality 0 means "not reported", as in the 2005 edition and ANSI.
    """

    finger_position: int
    view_number: int
    impression_type: int
    quality: int
    x: NDArray[np.uint16]
    y: NDArray[np.uint16]
    kind: NDArray[np.uint8]
    angle: NDArray[np.uint8]
    minutia_quality: NDArray[np.uint8]
    width: int
    height: int
    x_resolution: int
    y_resolution: int
    extended: tuple[ExtendedBlock, ...] = ()
    capture: CaptureInfo | None = None
    ridge_ending_type: int = 0

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class MinutiaeRecord:
    """A decoded record of any of the three formats, with what its decoding noticed."""

    format: str
    views: tuple[FingerView, ...]
    record_length: int = 0
    # Bytes after the stated record length (fixed-size card storage pads records).
    padding: int = 0
    warnings: tuple[str, ...] = ()
    convention: ExtendedConvention = field(default_factory=ExtendedConvention)
    equipment_compliance: int = 0
    equipment_id: int = 0
    cbeff_product_id: int = 0
    certification_flag: bool = False

    @property
    def angle_step_degrees(self) -> float:
        return 360 / ANGLE_UNITS[self.format]


def decide_convention(parse: Callable[[ExtendedConvention], T]) -> T:
    """Parse under each extended-data convention, standard first; the first consistent wins.

    When none is, the standard reading's error is raised: it names the field a writer
    following the standard would look at.
    """
    first: TemplateFormatError | None = None
    for convention in CONVENTIONS:
        try:
            return parse(convention)
        except TemplateFormatError as exc:
            first = first or exc
    assert first is not None
    raise first


def read_minutiae(
    cur: Cursor, count: int, size: int, name: str, units: int
) -> tuple[
    NDArray[np.uint16], NDArray[np.uint16], NDArray[np.uint8], NDArray[np.uint8], NDArray[np.uint8]
]:
    """x, y, type, angle and quality of `count` minutiae of `size` bytes (5: no quality)."""
    body = cur.take(count * size, f"{name}.minutiae ({count} × {size} bytes)")
    # Every verification decodes its probe records, so the common 6-byte layout is read as
    # three big-endian words at once.
    if size == 6:
        words = np.frombuffer(body, dtype=">u2").reshape(count, 3)
        xs, ys = words[:, 0], words[:, 1]
        angle = (words[:, 2] >> 8).astype(np.uint8)
        quality = (words[:, 2] & 0xFF).astype(np.uint8)
    else:
        raw = np.frombuffer(body, dtype=np.uint8).reshape(count, size).astype(np.uint16)
        xs = (raw[:, 0] << 8) | raw[:, 1]
        ys = (raw[:, 2] << 8) | raw[:, 3]
        angle = raw[:, 4].astype(np.uint8)
        quality = np.zeros(count, np.uint8)
    if units < 256 and (angle >= units).any():
        i = int(np.flatnonzero(angle >= units)[0])
        raise TemplateFormatError(
            f"{name}.minutia[{i}].angle", f"{angle[i]} exceeds {units - 1} ({360 / units:g}° units)"
        )
    return (
        (xs & MAX_COORDINATE).astype(np.uint16),
        (ys & MAX_COORDINATE).astype(np.uint16),
        (xs >> 14).astype(np.uint8),
        angle,
        quality,
    )


def check_minutiae(name: str, view: FingerView, *, quality_above_100: bool = False) -> None:
    """Reject minutiae that contradict the view: reserved type, outside the image, quality."""
    x, y, kind, quality = view.x, view.y, view.kind, view.minutia_quality
    width, height = view.width, view.height
    # Every verification decodes its probe records: a valid view costs four reductions here,
    # and the per-field masks below are built only to name the first error.
    if len(x) == 0 or (
        kind.max() < 3
        and (quality.max() <= 100 or quality_above_100)
        and (not width or x.max() < width)
        and (not height or y.max() < height)
    ):
        return
    checks = (
        ("type", kind == 3, "uses the reserved type code 11"),
        ("x", (x >= width) if width else np.zeros(len(x), bool), f"is outside width {width}"),
        ("y", (y >= height) if height else np.zeros(len(y), bool), f"is outside height {height}"),
        ("quality", (quality > 100) & (not quality_above_100), "exceeds 100"),
    )
    for part, bad, reason in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TemplateFormatError(f"{name}.minutia[{i}].{part}", reason)


def write_minutiae(
    view: FingerView,
    name: str,
    angles: NDArray[np.uint8],
    quality: NDArray[np.uint8] | None = None,
) -> bytes:
    """6 bytes per minutia; `angles` (and `quality`, if given) already in the target's units."""
    check_minutiae(name, view)
    body = np.zeros((len(view), 3), dtype=">u2")
    body[:, 0] = (view.kind.astype(np.uint16) << 14) | view.x
    body[:, 1] = view.y
    coded = view.minutia_quality if quality is None else quality
    body[:, 2] = (angles.astype(np.uint16) << 8) | coded
    return body.tobytes()


def angles_in(view: FingerView, source: str, target: str) -> NDArray[np.uint8]:
    """A view's angles re-expressed in `target`'s unit (identity within a family)."""
    if ANGLE_UNITS[source] == ANGLE_UNITS[target]:
        return view.angle
    turns = view.angle.astype(np.float64) / ANGLE_UNITS[source]
    return (np.rint(turns * ANGLE_UNITS[target]) % ANGLE_UNITS[target]).astype(np.uint8)


def read_extended(
    cur: Cursor, name: str, convention: ExtendedConvention
) -> tuple[ExtendedBlock, ...]:
    """The extended data area after a view's minutiae, read under `convention`."""
    stated = cur.u16(f"{name}.extended_data_length")
    size = stated - 2 if convention.area_counts_length_field and stated else stated
    if size < 0:
        raise TemplateFormatError(f"{name}.extended_data_length", "is shorter than its own field")
    area = cur.take(size, f"{name}.extended_data")
    return tuple(_blocks(area, f"{name}.extended_data", convention))


def _blocks(area: bytes, name: str, convention: ExtendedConvention) -> Iterator[ExtendedBlock]:
    pos = index = 0
    header = 4 if convention.block_counts_header else 0
    while pos < len(area):
        if pos + 4 > len(area):
            raise TemplateTruncatedError(f"{name}.block[{index}]", "block header cut off")
        type_code, length = struct.unpack(">HH", area[pos : pos + 4])
        size = length + 4 - header
        if length < header or pos + size > len(area):
            raise TemplateFormatError(
                f"{name}.block[{index}].length",
                f"{length} does not fit the {len(area) - pos} bytes left in the area",
            )
        yield ExtendedBlock(type_code, area[pos + 4 : pos + size])
        pos += size
        index += 1


def write_extended(blocks: tuple[ExtendedBlock, ...]) -> bytes:
    """An extended data area in the standard convention (lengths exclude the area field and
    include each block's header)."""
    body = b"".join(struct.pack(">HH", b.type_code, len(b.data) + 4) + b.data for b in blocks)
    if len(body) > 0xFFFF:
        raise TemplateFormatError("extended_data_length", f"{len(body)} bytes exceed 65535")
    return struct.pack(">H", len(body)) + body


def finish(data: bytes, end: int, stated: int) -> tuple[int, tuple[str, ...]]:
    """Padding and warnings once the views are read, or the record-length error.

    A record must end at its stated length; bytes after it are padding, accepted and
    reported. A length field that undercounts a record whose views run exactly to the end of
    the data is tolerated with a warning (NIST's Annex C example states one byte less than
    it holds); one that promises more than the data holds means the record was cut short.
    """
    if end == stated:
        padding = len(data) - stated
        if padding:
            kind = "zero" if not data[stated:].strip(b"\x00") else "non-zero"
            return padding, (
                f"{padding} {kind} padding bytes after the stated record length {stated}",
            )
        return 0, ()
    if end == len(data) and stated < end:
        return 0, (f"record_length states {stated} bytes, the record holds {end}",)
    raise TemplateFormatError(
        "record_length", f"states {stated} bytes but the views end at byte {end} of {len(data)}"
    )


def px_per_cm_to_dpi(px_per_cm: int) -> int:
    """Resolution in pixels per centimetre (the records' unit) as dots per inch."""
    return round(px_per_cm * 2.54)


def to_minutia_sets(record: MinutiaeRecord) -> list[MinutiaSet]:
    """One `MinutiaSet` per view, coordinates rescaled to 500 dpi from the view's resolution.

    Angles convert by scaling alone: the project's direction convention is the ISO one.
    `extras` keeps the format, view number, impression type and the original resolution.
    """
    step = np.float32(np.deg2rad(record.angle_step_degrees))
    sets = []
    for view in record.views:
        dpi = (px_per_cm_to_dpi(view.x_resolution), px_per_cm_to_dpi(view.y_resolution))
        sx, sy = NOMINAL_DPI / dpi[0], NOMINAL_DPI / dpi[1]
        ms = MinutiaSet.from_arrays(
            view.x.astype(np.float32) * sx,
            view.y.astype(np.float32) * sy,
            view.angle.astype(np.float32) * step,
            view.kind,
            view.minutia_quality,
            width=round(view.width * sx),
            height=round(view.height * sy),
            resolution_dpi=NOMINAL_DPI,
            finger_position=view.finger_position,
            image_quality=view.quality,
        )
        ms.extras.update(
            {
                "format": record.format,
                "view_number": view.view_number,
                "impression_type": view.impression_type,
                "source_dpi": dpi,
            }
        )
        sets.append(ms)
    return sets


def from_minutia_sets(
    sets: list[MinutiaSet], *, fmt: str = ISO_2005, impression_type: int = 0, equipment_id: int = 0
) -> MinutiaeRecord:
    """A record at 500 dpi (197 px/cm) holding each set as one view, in format `fmt`.

    View numbers count up per finger position, as the standards require for repeated fingers.
    """
    if not sets:
        raise TemplateFormatError("number_of_views", "a record holds at least one view")
    width = max(s.width for s in sets)
    height = max(s.height for s in sets)
    units = ANGLE_UNITS[fmt]
    per_finger: dict[int, int] = {}
    views = []
    for s in sets:
        view_number = per_finger.get(s.finger_position, 0)
        per_finger[s.finger_position] = view_number + 1
        view_impression = s.extras.get("impression_type", impression_type)
        quality = int(np.clip(s.image_quality, 0, 100))
        views.append(
            FingerView(
                finger_position=s.finger_position,
                view_number=view_number,
                impression_type=view_impression if isinstance(view_impression, int) else 0,
                quality=quality,
                x=np.clip(np.rint(s.x), 0, max(width - 1, 0)).astype(np.uint16),
                y=np.clip(np.rint(s.y), 0, max(height - 1, 0)).astype(np.uint16),
                kind=s.kind.astype(np.uint8),
                angle=(np.rint(s.direction / (2 * np.pi) * units) % units).astype(np.uint8),
                minutia_quality=np.clip(s.quality, 0, 100).astype(np.uint8),
                width=width,
                height=height,
                x_resolution=NOMINAL_PX_PER_CM,
                y_resolution=NOMINAL_PX_PER_CM,
            )
        )
    return MinutiaeRecord(format=fmt, views=tuple(views), equipment_id=equipment_id)


def read_views(
    cur: Cursor,
    count: int,
    fmt: str,
    geometry: tuple[int, int, int, int],
    convention: ExtendedConvention,
) -> list[FingerView]:
    """Views in the ISO 2005 / ANSI 2004 layout: position, view number and impression type
    (a nibble each), quality, minutia count, 6-byte minutiae, extended data area."""
    width, height, x_res, y_res = geometry
    views = []
    for i in range(count):
        name = f"view[{i}]"
        position, number_type, quality, n = cur.take(4, f"{name}.header")
        if quality > 100:
            raise TemplateFormatError(f"{name}.finger_quality", f"{quality} exceeds 100")
        x, y, kind, angle, minutia_quality = read_minutiae(cur, n, 6, name, ANGLE_UNITS[fmt])
        view = FingerView(
            finger_position=position,
            view_number=number_type >> 4,
            impression_type=number_type & 0x0F,
            quality=quality,
            x=x,
            y=y,
            kind=kind,
            angle=angle,
            minutia_quality=minutia_quality,
            width=width,
            height=height,
            x_resolution=x_res,
            y_resolution=y_res,
            extended=(),
        )
        check_minutiae(name, view)
        extended = read_extended(cur, name, convention)
        views.append(_with_extended(view, extended))
    return views


def _with_extended(view: FingerView, extended: tuple[ExtendedBlock, ...]) -> FingerView:
    if not extended:
        return view
    return FingerView(**{**view.__dict__, "extended": extended})


def write_views(record: MinutiaeRecord, fmt: str) -> bytes:
    """The views of `record` in the ISO 2005 / ANSI 2004 layout, angles in `fmt`'s unit."""
    if not 1 <= len(record.views) <= 255:
        raise TemplateFormatError("number_of_views", f"{len(record.views)} is not in 1..255")
    parts = []
    for i, view in enumerate(record.views):
        name = f"view[{i}]"
        if len(view) > 255:
            raise TemplateFormatError(f"{name}.minutia_count", f"{len(view)} exceeds 255")
        for part, value, top in (
            ("finger_position", view.finger_position, 255),
            ("view_number", view.view_number, 15),
            ("impression_type", view.impression_type, 15),
            ("finger_quality", view.quality, 100),
        ):
            if not 0 <= value <= top:
                raise TemplateFormatError(f"{name}.{part}", f"{value} is not in 0..{top}")
        header = bytes(
            [
                view.finger_position,
                (view.view_number << 4) | view.impression_type,
                view.quality,
                len(view),
            ]
        )
        angles = angles_in(view, record.format, fmt)
        parts.append(header + write_minutiae(view, name, angles) + write_extended(view.extended))
    return b"".join(parts)


def common_geometry(record: MinutiaeRecord) -> tuple[int, int, int, int]:
    """Image size and resolution for a format that states them once per record.

    The size is the largest view's; views at different resolutions cannot share one
    header, so they are refused naming the first view that differs.
    """
    first = record.views[0] if record.views else None
    if first is None:
        raise TemplateFormatError("number_of_views", "a record holds at least one view")
    for i, view in enumerate(record.views):
        if (view.x_resolution, view.y_resolution) != (first.x_resolution, first.y_resolution):
            raise TemplateFormatError(
                f"view[{i}].x_resolution",
                "views at different resolutions cannot share this format's single header",
            )
    width = max(v.width for v in record.views)
    height = max(v.height for v in record.views)
    return width, height, first.x_resolution, first.y_resolution


def check_resolution(x_res: int, y_res: int, name: str = "") -> None:
    prefix = f"{name}." if name else ""
    if x_res == 0 or y_res == 0:
        raise TemplateFormatError(
            f"{prefix}x_resolution" if x_res == 0 else f"{prefix}y_resolution",
            "resolution must not be zero",
        )


def decode_2004_layout(
    data: bytes, cur: Cursor, fmt: str, stated: int, *, cbeff_product_id: int = 0
) -> MinutiaeRecord:
    """The rest of an ISO 2005 or ANSI 2004 record after its length (and CBEFF id): capture
    equipment, image size and resolution, the view count, then the views."""
    equipment = cur.u16("capture_equipment")
    geometry = (
        cur.u16("image_width"),
        cur.u16("image_height"),
        cur.u16("x_resolution"),
        cur.u16("y_resolution"),
    )
    check_resolution(geometry[2], geometry[3])
    count = cur.u8("number_of_views")
    cur.u8("reserved")
    if count == 0:
        raise TemplateFormatError("number_of_views", "a record holds at least one view")
    start = cur.pos

    def parse(convention: ExtendedConvention) -> MinutiaeRecord:
        views_cursor = cursor(data, start)
        views = read_views(views_cursor, count, fmt, geometry, convention)
        padding, warnings = finish(data, views_cursor.pos, stated)
        return MinutiaeRecord(
            format=fmt,
            views=tuple(views),
            record_length=stated,
            padding=padding,
            warnings=warnings,
            convention=convention,
            equipment_compliance=equipment >> 12,
            equipment_id=equipment & 0x0FFF,
            cbeff_product_id=cbeff_product_id,
        )

    return decide_convention(parse)


def encode_2004_layout(record: MinutiaeRecord, fmt: str) -> tuple[bytes, bytes]:
    """The header fields after the length and the views, of an ISO 2005 or ANSI 2004 record."""
    width, height, x_res, y_res = common_geometry(record)
    views = write_views(record, fmt)
    tail = struct.pack(
        ">HHHHHBB",
        (record.equipment_compliance << 12) | (record.equipment_id & 0x0FFF),
        width,
        height,
        x_res,
        y_res,
        len(record.views),
        0,
    )
    return tail, views
