"""ISO/IEC 19794-2:2005 finger minutiae records: decode, encode, convert to `MinutiaSet`.

This is how e-KTP card templates and other vendors' templates enter the system, so decoding is
strict about structure (every truncated or inconsistent field raises `TemplateFormatError`
naming it) but tolerant where real records are known to disagree:

- the extended data area's 2-byte length is read in both conventions (counting its own two
  bytes or not); the one under which the area's blocks and the rest of the record parse
  exactly wins. Encoding always writes an empty area (length 0);
- a record-length field that disagrees with a record whose structure parses exactly to the end
  of the buffer is accepted and flagged (NIST's own Annex C example states one byte less than
  it holds);
- ANSI INCITS 378-2004 records (same magic and version, a 2- or 6-byte length plus a CBEFF
  product id, angles in 2° units) are recognised by their length field and read too; encoding
  always writes ISO.

Layout (big-endian): header `FMR\\0`, version ` 20\\0`, record length (4), capture equipment
(2: compliance nibble + 12-bit id), width, height (2 + 2), x/y resolution in pixels per cm
(2 + 2), number of views (1), reserved (1); per view: finger position (1), view number (high
nibble) and impression type (low nibble), finger quality (1), minutia count (1), 6 bytes per
minutia (type in the top two bits + 14-bit x; 2 reserved bits + 14-bit y; angle in 360/256°
units; quality), then the extended data length (2) and area.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.template_errors import TemplateFormatError, TemplateTruncatedError
from matcher.fingerprint.types import NOMINAL_DPI, MinutiaSet

MAGIC = b"FMR\x00"
VERSION = b" 20\x00"
HEADER_SIZE = 24
VIEW_HEADER_SIZE = 4
MINUTIA_SIZE = 6
# 500 dpi expressed in the record's unit, pixels per centimetre (500 / 2.54 = 196.85).
NOMINAL_PX_PER_CM = 197
MAX_COORDINATE = (1 << 14) - 1
ANGLE_UNITS = 256
ISO = "iso19794-2:2005"
ANSI = "ansi-incits-378:2004"
ANSI_HEADER_SIZE = 26
ANSI_ANGLE_STEP = 2.0
IMPRESSION_TYPES = {
    0: "live-scan plain",
    1: "live-scan rolled",
    2: "non-live-scan plain",
    3: "non-live-scan rolled",
    8: "swipe",
    9: "live-scan contactless",
}


@dataclass(frozen=True)
class ExtendedBlock:
    """One extended data block, kept raw (type 1 = ridge counts, 2 = cores and deltas)."""

    type_code: int
    data: bytes


@dataclass(frozen=True)
class IsoView:
    """One finger view exactly as coded in the record (integer units, no rescaling)."""

    finger_position: int
    view_number: int
    impression_type: int
    quality: int
    x: NDArray[np.uint16]
    y: NDArray[np.uint16]
    kind: NDArray[np.uint8]
    angle: NDArray[np.uint8]
    minutia_quality: NDArray[np.uint8]
    extended: tuple[ExtendedBlock, ...] = ()
    # Which convention the extended data length used: "exclusive", "inclusive" or "" (none).
    extended_length_convention: str = ""

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class IsoRecord:
    """A decoded record: header fields plus its views."""

    width: int
    height: int
    x_resolution: int
    y_resolution: int
    views: tuple[IsoView, ...]
    equipment_compliance: int = 0
    equipment_id: int = 0
    record_length: int = 0
    warnings: tuple[str, ...] = field(default=())
    # ANSI INCITS 378-2004 records share the magic and version but differ in the header and
    # in the angle unit (2°); they are read too, so US-made readers' templates work.
    standard: str = "iso19794-2:2005"
    angle_step_degrees: float = 360 / ANGLE_UNITS
    cbeff_product_id: int = 0


class _Reader:
    """Cursor over the record that names the field whenever the data runs out."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int, name: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise TemplateTruncatedError(
                name,
                f"needs {size} bytes at offset {self.pos}, the record has "
                f"{max(len(self.data) - self.pos, 0)} left",
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self, name: str) -> int:
        return self.take(1, name)[0]

    def u16(self, name: str) -> int:
        value: int = struct.unpack(">H", self.take(2, name))[0]
        return value


def decode(data: bytes) -> IsoRecord:
    """Parse an ISO/IEC 19794-2:2005 (or ANSI INCITS 378-2004) record.

    Raises `TemplateFormatError` naming the field on any defect.
    """
    data = bytes(data)
    r = _Reader(data)
    if r.take(4, "format_identifier") != MAGIC:
        raise TemplateFormatError("format_identifier", "not an ISO/IEC 19794-2 record (no FMR)")
    version = r.take(4, "version")
    if version != VERSION:
        raise TemplateFormatError("version", f"version {version!r} is not the 2005 edition (' 20')")
    standard, record_length, header_size = _length_field(data, r)
    if record_length < header_size:
        raise TemplateFormatError(
            "record_length", f"{record_length} is shorter than the {header_size}-byte header"
        )
    cbeff = struct.unpack(">I", r.take(4, "cbeff_product_id"))[0] if standard == ANSI else 0
    equipment = r.u16("capture_equipment")
    width = r.u16("image_width")
    height = r.u16("image_height")
    x_res = r.u16("x_resolution")
    y_res = r.u16("y_resolution")
    if x_res == 0 or y_res == 0:
        raise TemplateFormatError(
            "x_resolution" if x_res == 0 else "y_resolution", "resolution must not be zero"
        )
    view_count = r.u8("number_of_views")
    r.u8("reserved")
    if view_count == 0:
        raise TemplateFormatError("number_of_views", "a record holds at least one view")

    angle_step = ANSI_ANGLE_STEP if standard == ANSI else 360 / ANGLE_UNITS
    frame = _Frame(width, height, record_length, 179 if standard == ANSI else 255)
    views, end, failure = _decode_views(data, r.pos, 0, view_count, frame)
    if views is None:
        assert failure is not None
        raise failure
    warnings = []
    if end != record_length:
        warnings.append(f"record_length states {record_length} bytes, the record holds {end}")
    return IsoRecord(
        width=width,
        height=height,
        x_resolution=x_res,
        y_resolution=y_res,
        views=tuple(views),
        equipment_compliance=equipment >> 12,
        equipment_id=equipment & 0x0FFF,
        record_length=record_length,
        warnings=tuple(warnings),
        standard=standard,
        angle_step_degrees=angle_step,
        cbeff_product_id=cbeff,
    )


def _length_field(data: bytes, r: _Reader) -> tuple[str, int, int]:
    """Standard, stated length and header size, from the layout of the length field.

    ISO/IEC 19794-2:2005 states the length in 4 bytes; ANSI INCITS 378-2004 in 2 bytes, or in
    6 (2 zero bytes, then 4) above 65,535, followed by a 4-byte CBEFF product id. A record is
    read as ANSI only when the ANSI reading states the exact buffer length and the ISO one
    does not, so ISO records with a slightly wrong length (NIST's example) stay ISO.
    """
    iso_length = struct.unpack(">I", data[8:12])[0] if len(data) >= 12 else -1
    short = struct.unpack(">H", data[8:10])[0] if len(data) >= 10 else -1
    long = struct.unpack(">I", data[10:14])[0] if len(data) >= 14 else -1
    if iso_length != len(data):
        if short == len(data):
            r.take(2, "record_length")
            return ANSI, short, ANSI_HEADER_SIZE
        if short == 0 and long == len(data):
            r.take(6, "record_length")
            return ANSI, long, ANSI_HEADER_SIZE + 4
    return ISO, struct.unpack(">I", r.take(4, "record_length"))[0], HEADER_SIZE


@dataclass(frozen=True)
class _Frame:
    """Header facts every view is checked against."""

    width: int
    height: int
    record_length: int
    max_angle: int = 255


def _decode_views(
    data: bytes, start: int, index: int, remaining: int, frame: _Frame
) -> tuple[list[IsoView] | None, int, TemplateFormatError | None]:
    """Views from `start`, backtracking over the two extended-length conventions.

    A parse succeeds only if the last view ends where the record does: at the stated record
    length or, failing that, at the end of the data (a wrong length field). Returns the views
    and the end offset, or None and the first error met.
    """
    if remaining == 0:
        # A length field that undercounts a complete record is tolerated (NIST's example);
        # one that promises more than the data holds means the record was cut short.
        if start == frame.record_length or frame.record_length < start == len(data):
            return [], start, None
        return (
            None,
            0,
            TemplateFormatError(
                "record_length",
                f"states {frame.record_length} bytes but the views end at byte {start} "
                f"of {len(data)}",
            ),
        )
    r = _Reader(data)
    r.pos = start
    position, number_type, quality, n = r.take(VIEW_HEADER_SIZE, f"view[{index}].header")
    if quality > 100:
        raise TemplateFormatError(f"view[{index}].finger_quality", f"{quality} exceeds 100")
    body = r.take(n * MINUTIA_SIZE, f"view[{index}].minutiae ({n} × {MINUTIA_SIZE} bytes)")
    raw = np.frombuffer(body, dtype=">u2").reshape(n, 3)
    x = (raw[:, 0] & MAX_COORDINATE).astype(np.uint16)
    kind = (raw[:, 0] >> 14).astype(np.uint8)
    y = (raw[:, 1] & MAX_COORDINATE).astype(np.uint16)
    angle = (raw[:, 2] >> 8).astype(np.uint8)
    mquality = (raw[:, 2] & 0xFF).astype(np.uint8)
    _check_minutiae(index, x, y, kind, mquality, frame.width, frame.height)
    if (angle > frame.max_angle).any():
        i = int(np.flatnonzero(angle > frame.max_angle)[0])
        raise TemplateFormatError(
            f"view[{index}].minutia[{i}].angle", f"{angle[i]} exceeds {frame.max_angle} (2° units)"
        )
    ext_length = r.u16(f"view[{index}].extended_data_length")
    conventions = [("exclusive", ext_length), ("inclusive", ext_length - 2)] if ext_length else []
    first_error: TemplateFormatError | None = None
    for convention, area_size in conventions or [("", 0)]:
        try:
            blocks = _decode_extended(data, r.pos, area_size, index)
            rest, end, error = _decode_views(
                data, r.pos + area_size, index + 1, remaining - 1, frame
            )
        except TemplateFormatError as exc:
            rest, end, error = None, 0, exc
        if rest is not None:
            view = IsoView(
                finger_position=position,
                view_number=number_type >> 4,
                impression_type=number_type & 0x0F,
                quality=quality,
                x=x,
                y=y,
                kind=kind,
                angle=angle,
                minutia_quality=mquality,
                extended=blocks,
                extended_length_convention=convention,
            )
            return [view, *rest], end, None
        first_error = first_error or error
    return None, 0, first_error


def _check_minutiae(
    index: int,
    x: NDArray[np.uint16],
    y: NDArray[np.uint16],
    kind: NDArray[np.uint8],
    quality: NDArray[np.uint8],
    width: int,
    height: int,
) -> None:
    """Reject minutiae that contradict the header: reserved type, outside the image, quality."""
    # Every verification decodes its probe records: a valid view costs four reductions here,
    # and the per-field masks below are built only to name the first error.
    if len(x) == 0 or (
        kind.max() < 3
        and quality.max() <= 100
        and (not width or x.max() < width)
        and (not height or y.max() < height)
    ):
        return
    checks = (
        ("type", kind == 3, "uses the reserved type code 11"),
        ("x", (x >= width) if width else np.zeros(len(x), bool), f"is outside width {width}"),
        ("y", (y >= height) if height else np.zeros(len(y), bool), f"is outside height {height}"),
        ("quality", quality > 100, "exceeds 100"),
    )
    for name, bad, reason in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise TemplateFormatError(f"view[{index}].minutia[{i}].{name}", reason)


def _decode_extended(data: bytes, start: int, size: int, index: int) -> tuple[ExtendedBlock, ...]:
    """Blocks of an extended data area: type (2), length counting its 4-byte header (2), data."""
    name = f"view[{index}].extended_data"
    if size < 0:
        raise TemplateFormatError(name, "length is shorter than its own field")
    r = _Reader(data)
    r.pos = start
    area = r.take(size, name)
    blocks: list[ExtendedBlock] = []
    pos = 0
    while pos < len(area):
        if pos + 4 > len(area):
            raise TemplateTruncatedError(f"{name}.block[{len(blocks)}]", "block header cut off")
        type_code, length = struct.unpack(">HH", area[pos : pos + 4])
        if length < 4 or pos + length > len(area):
            raise TemplateFormatError(
                f"{name}.block[{len(blocks)}].length",
                f"{length} does not fit the {len(area) - pos} bytes left in the area",
            )
        blocks.append(ExtendedBlock(type_code, area[pos + 4 : pos + length]))
        pos += length
    return tuple(blocks)


def encode(record: IsoRecord) -> bytes:
    """Serialise a record; extended data is written empty, as the codec promises."""
    if not 1 <= len(record.views) <= 255:
        raise TemplateFormatError("number_of_views", f"{len(record.views)} is not in 1..255")
    parts: list[bytes] = []
    for i, view in enumerate(record.views):
        n = len(view)
        if n > 255:
            raise TemplateFormatError(f"view[{i}].minutia_count", f"{n} exceeds 255")
        for name, value, top in (
            ("finger_position", view.finger_position, 255),
            ("view_number", view.view_number, 15),
            ("impression_type", view.impression_type, 15),
            ("finger_quality", view.quality, 100),
        ):
            if not 0 <= value <= top:
                raise TemplateFormatError(f"view[{i}].{name}", f"{value} is not in 0..{top}")
        _check_minutiae(
            i, view.x, view.y, view.kind, view.minutia_quality, record.width, record.height
        )
        header = bytes(
            [view.finger_position, (view.view_number << 4) | view.impression_type, view.quality, n]
        )
        body = np.zeros((n, 3), dtype=">u2")
        body[:, 0] = (view.kind.astype(np.uint16) << 14) | view.x
        body[:, 1] = view.y
        angle = view.angle.astype(np.uint16)
        if record.angle_step_degrees != 360 / ANGLE_UNITS:
            # Re-express other units (ANSI's 2°) in ISO's 360/256°.
            turns = view.angle.astype(np.float64) * record.angle_step_degrees / 360
            angle = (np.rint(turns * ANGLE_UNITS) % ANGLE_UNITS).astype(np.uint16)
        body[:, 2] = (angle << 8) | view.minutia_quality
        parts.append(header + body.tobytes() + b"\x00\x00")
    payload = b"".join(parts)
    length = HEADER_SIZE + len(payload)
    header = (
        MAGIC
        + VERSION
        + struct.pack(
            ">IHHHHHBB",
            length,
            (record.equipment_compliance << 12) | (record.equipment_id & 0x0FFF),
            record.width,
            record.height,
            record.x_resolution,
            record.y_resolution,
            len(record.views),
            0,
        )
    )
    return header + payload


def px_per_cm_to_dpi(px_per_cm: int) -> int:
    """Resolution in pixels per centimetre (the record's unit) as dots per inch."""
    return round(px_per_cm * 2.54)


def to_minutia_sets(record: IsoRecord) -> list[MinutiaSet]:
    """One `MinutiaSet` per view, with coordinates rescaled to 500 dpi.

    Angles convert by scaling alone: the project's direction convention is the ISO one.
    `extras` keeps the view number, impression type and the record's original resolution.
    """
    sx = NOMINAL_DPI / px_per_cm_to_dpi(record.x_resolution)
    sy = NOMINAL_DPI / px_per_cm_to_dpi(record.y_resolution)
    sets = []
    for view in record.views:
        ms = MinutiaSet.from_arrays(
            view.x.astype(np.float32) * sx,
            view.y.astype(np.float32) * sy,
            view.angle.astype(np.float32) * np.float32(np.deg2rad(record.angle_step_degrees)),
            view.kind,
            view.minutia_quality,
            width=round(record.width * sx),
            height=round(record.height * sy),
            resolution_dpi=NOMINAL_DPI,
            finger_position=view.finger_position,
            image_quality=view.quality,
        )
        ms.extras.update(
            {
                "format": record.standard,
                "view_number": view.view_number,
                "impression_type": view.impression_type,
                "source_dpi": (
                    px_per_cm_to_dpi(record.x_resolution),
                    px_per_cm_to_dpi(record.y_resolution),
                ),
            }
        )
        sets.append(ms)
    return sets


def from_minutia_sets(
    sets: list[MinutiaSet], *, impression_type: int = 0, equipment_id: int = 0
) -> IsoRecord:
    """A record at 500 dpi (197 px/cm) holding each set as one view.

    View numbers count up per finger position, as the standard requires for repeated fingers.
    """
    if not sets:
        raise TemplateFormatError("number_of_views", "a record holds at least one view")
    width = max(s.width for s in sets)
    height = max(s.height for s in sets)
    per_finger: dict[int, int] = {}
    views = []
    for s in sets:
        view_number = per_finger.get(s.finger_position, 0)
        per_finger[s.finger_position] = view_number + 1
        view_impression = s.extras.get("impression_type", impression_type)
        views.append(
            IsoView(
                finger_position=s.finger_position,
                view_number=view_number,
                impression_type=view_impression if isinstance(view_impression, int) else 0,
                quality=int(np.clip(s.image_quality, 0, 100)),
                x=np.clip(np.rint(s.x), 0, max(width - 1, 0)).astype(np.uint16),
                y=np.clip(np.rint(s.y), 0, max(height - 1, 0)).astype(np.uint16),
                kind=s.kind.astype(np.uint8),
                angle=(np.rint(s.direction / (2 * np.pi) * ANGLE_UNITS) % ANGLE_UNITS).astype(
                    np.uint8
                ),
                minutia_quality=np.clip(s.quality, 0, 100).astype(np.uint8),
            )
        )
    return IsoRecord(
        width=width,
        height=height,
        x_resolution=NOMINAL_PX_PER_CM,
        y_resolution=NOMINAL_PX_PER_CM,
        views=tuple(views),
        equipment_id=equipment_id,
    )


def read(data: bytes) -> list[MinutiaSet]:
    """Decode a record straight to minutia sets (one per view)."""
    return to_minutia_sets(decode(data))


def write(sets: list[MinutiaSet], *, impression_type: int = 0) -> bytes:
    """Encode minutia sets (at 500 dpi) as one record with one view each."""
    return encode(from_minutia_sets(sets, impression_type=impression_type))
