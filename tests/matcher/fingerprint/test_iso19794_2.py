"""ISO/IEC 19794-2:2005 codec: the NIST sample, round trips, and defects named by field."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.fingerprint import ansi378, fmr
from matcher.fingerprint import iso19794_2 as iso
from matcher.fingerprint.fmr import ExtendedConvention
from matcher.fingerprint.template_errors import TemplateFormatError, TemplateTruncatedError
from matcher.fingerprint.types import MinutiaSet

NIST_SAMPLE = "datasets/iso19794-2/nist-biomdi-annex-c2-example.raw"


@pytest.fixture
def nist(shared_dir: Path) -> bytes:
    return (shared_dir / NIST_SAMPLE).read_bytes()


@st.composite
def minutia_sets(draw: st.DrawFn) -> MinutiaSet:
    """Sets on the ISO grid (whole pixels, 256 angle steps) so a round trip is exact."""
    n = draw(st.integers(0, 80))
    width = draw(st.integers(150, 800))
    height = draw(st.integers(150, 800))
    ints = st.lists
    x = draw(ints(st.integers(0, width - 1), min_size=n, max_size=n))
    y = draw(ints(st.integers(0, height - 1), min_size=n, max_size=n))
    a = draw(ints(st.integers(0, 255), min_size=n, max_size=n))
    k = draw(ints(st.integers(0, 2), min_size=n, max_size=n))
    q = draw(ints(st.integers(0, 100), min_size=n, max_size=n))
    return MinutiaSet.from_arrays(
        x,
        y,
        np.asarray(a) * 2 * np.pi / 256,
        k,
        q,
        width=width,
        height=height,
        finger_position=draw(st.integers(0, 10)),
        image_quality=draw(st.integers(0, 100)),
    )


def test_nist_sample_decodes(nist: bytes) -> None:
    record = iso.decode(nist)
    assert [len(v) for v in record.views] == [27, 22]
    first = record.views[0]
    assert (first.width, first.height) == (512, 512)
    assert (first.x_resolution, first.y_resolution) == (197, 197)
    assert [v.finger_position for v in record.views] == [7, 2]
    assert [v.quality for v in record.views] == [90, 70]
    assert (int(first.x[0]), int(first.y[0]), int(first.kind[0])) == (100, 14, 1)
    assert int(first.angle[0]) == 80 and int(first.minutia_quality[0]) == 90
    # The second view carries a ridge-count block; the stated length is one byte short.
    assert record.views[1].extended[0].type_code == 1
    assert record.convention == ExtendedConvention()
    assert record.record_length == len(nist) - 1 and record.warnings


def test_nist_sample_round_trips(nist: bytes) -> None:
    record = iso.decode(nist)
    again = iso.decode(iso.encode(record))
    assert len(again.views) == 2
    for a, b in zip(record.views, again.views, strict=True):
        for name in ("x", "y", "kind", "angle", "minutia_quality"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert (a.finger_position, a.quality) == (b.finger_position, b.quality)
    # Extended data is written back in the standard convention, blocks intact.
    assert [v.extended for v in again.views] == [v.extended for v in record.views]
    # Through MinutiaSet and back, the minutiae bytes are identical.
    rewritten = iso.write(iso.read(nist))
    assert rewritten[24 : 24 + 4 + 27 * 6] == nist[24 : 24 + 4 + 27 * 6]


def test_nist_sample_as_minutia_sets(nist: bytes) -> None:
    left, right = iso.read(nist)
    assert (len(left), len(right)) == (27, 22)
    assert left.resolution_dpi == 500 and left.finger_position == 7
    assert np.isclose(left.direction[0], 80 * 2 * np.pi / 256)


@given(st.lists(minutia_sets(), min_size=1, max_size=3))
@settings(max_examples=60, deadline=None)
def test_random_sets_round_trip_exactly(sets: list[MinutiaSet]) -> None:
    back = iso.read(iso.write(sets))
    assert len(back) == len(sets)
    for a, b in zip(sets, back, strict=True):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_allclose(a.direction, b.direction, atol=1e-5)
        np.testing.assert_array_equal(a.kind, b.kind)
        np.testing.assert_array_equal(a.quality, b.quality)
        assert (a.finger_position, a.image_quality) == (b.finger_position, b.image_quality)


def _record(views: int = 1, minutiae: int = 3) -> bytes:
    sets = [
        MinutiaSet.from_arrays(
            [10 + i for i in range(minutiae)],
            [20] * minutiae,
            [0.5] * minutiae,
            width=300,
            height=400,
            finger_position=2,
        )
        for _ in range(views)
    ]
    return iso.write(sets)


@pytest.mark.parametrize(
    ("cut", "field"),
    [
        (3, "format_identifier"),
        (10, "record_length"),
        (20, "y_resolution"),
        (26, "view[0].header"),
        (30, "view[0].minutiae"),
        (24 + 4 + 18 + 1, "view[0].extended_data_length"),
    ],
)
def test_truncated_records_name_the_field(cut: int, field: str) -> None:
    with pytest.raises(TemplateTruncatedError) as info:
        iso.decode(_record()[:cut])
    assert info.value.field.startswith(field)
    assert field in str(info.value)


def test_truncated_second_view_is_named() -> None:
    data = _record(views=2)
    with pytest.raises(TemplateFormatError) as info:
        iso.decode(data[:-5])
    assert info.value.field.startswith("view[1]")


def _patched(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


@pytest.mark.parametrize(
    ("offset", "value", "field"),
    [
        (0, b"XMR\x00", "format_identifier"),
        (4, b" 30\x00", "version"),
        (8, struct.pack(">I", 999), "record_length"),
        (18, b"\x00\x00", "x_resolution"),
        (22, b"\x00", "number_of_views"),
        (26, b"\xff", "view[0].finger_quality"),
        (28, b"\xc0\x0a", "view[0].minutia[0].type"),
        (28, b"\x41\x90", "view[0].minutia[0].x"),
        (33, b"\xff", "view[0].minutia[0].quality"),
    ],
)
def test_inconsistent_records_name_the_field(offset: int, value: bytes, field: str) -> None:
    with pytest.raises(TemplateFormatError) as info:
        iso.decode(_patched(_record(), offset, value))
    assert info.value.field == field


def test_extended_length_counting_its_own_header_is_read() -> None:
    block = struct.pack(">HH", 2, 7) + b"\x01\x02\x03"
    base = _record()
    body = base[24:-2]
    for stated in (len(block), len(block) + 2):
        data = bytearray(base[:24] + body + struct.pack(">H", stated) + block)
        data[8:12] = struct.pack(">I", len(data))
        view = iso.decode(bytes(data)).views[0]
        assert view.extended == (fmr.ExtendedBlock(2, b"\x01\x02\x03"),)


def test_other_resolutions_are_rescaled_to_500_dpi() -> None:
    data = bytearray(_record())
    data[18:22] = struct.pack(">HH", 224, 224)  # 569 dpi
    data[14:18] = struct.pack(">HH", 300, 400)
    (ms,) = iso.read(bytes(data))
    assert ms.resolution_dpi == 500
    np.testing.assert_allclose(ms.x[0], 10 * 500 / 569, rtol=1e-5)
    assert ms.width == round(300 * 500 / 569)


@given(st.binary(max_size=200), st.integers(0, 120), st.integers(0, 255))
@settings(max_examples=300, deadline=None)
def test_damaged_records_raise_only_template_errors(tail: bytes, cut: int, byte: int) -> None:
    """Any truncation or single-byte corruption is either read or refused with a typed error."""
    base = _record(views=2, minutiae=5)
    damaged = bytearray(base[:cut] + tail if cut < len(base) else base)
    if damaged:
        damaged[(cut * 7) % len(damaged)] = byte
    try:
        iso.decode(bytes(damaged))
    except TemplateFormatError as exc:
        assert exc.field


def _ansi_record(angle: int = 45, long_length: bool = False) -> bytes:
    """An ANSI INCITS 378-2004 record laid out by hand: 2- (or 6-) byte length, CBEFF id."""
    view = bytes([2, 0x00, 80, 2])
    view += struct.pack(">HHBB", (1 << 14) | 100, 150, angle, 60)
    view += struct.pack(">HHBB", (2 << 14) | 40, 60, 0, 70)
    view += b"\x00\x00"
    length = 26 + (4 if long_length else 0) + len(view)
    size_field = struct.pack(">HI", 0, length) if long_length else struct.pack(">H", length)
    rest = struct.pack(">IHHHHHBB", 0x00330001, 0, 300, 400, 197, 197, 1, 0)
    return b"FMR\x00 20\x00" + size_field + rest + view


@pytest.mark.parametrize("long_length", [False, True])
def test_ansi_378_records_are_read(long_length: bool) -> None:
    data = _ansi_record(long_length=long_length)
    assert ansi378.is_ansi(data)
    record = ansi378.decode(data)
    assert record.format == fmr.ANSI_2004 and record.cbeff_product_id == 0x00330001
    (ms,) = fmr.to_minutia_sets(record)
    assert (len(ms), ms.finger_position, ms.image_quality) == (2, 2, 80)
    np.testing.assert_allclose(ms.direction[0], np.pi / 2, atol=1e-6)  # 45 × 2°
    # Re-encoded as ISO, the angle is expressed in 360/256° units.
    again = iso.decode(iso.encode(record))
    assert again.format == fmr.ISO_2005 and int(again.views[0].angle[0]) == 64


def test_ansi_angle_out_of_range_is_named() -> None:
    with pytest.raises(TemplateFormatError) as info:
        ansi378.decode(_ansi_record(angle=200))
    assert info.value.field == "view[0].minutia[0].angle"
