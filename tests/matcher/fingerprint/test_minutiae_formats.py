"""The three minutiae record formats: ISO/IEC 19794-2 (2005, 2011) and ANSI/INCITS 378-2004.

Round trips within each, conversion between them, the extended-data convention decided once
per record, padding, and damage that must only ever raise `TemplateFormatError`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.fingerprint import ansi378, fmr, iso19794_2, iso19794_2_2011, templates
from matcher.fingerprint.fmr import ANSI_2004, FORMATS, ISO_2005, ISO_2011
from matcher.fingerprint.template_errors import TemplateFormatError, TemplateVersionError
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.minutiae import impression, master

NIST_SAMPLE = "datasets/iso19794-2/nist-biomdi-annex-c2-example.raw"


@st.composite
def minutia_sets(draw: st.DrawFn) -> MinutiaSet:
    """Sets on the ISO grid (whole pixels, 256 angle steps)."""
    n = draw(st.integers(0, 60))
    width, height = draw(st.integers(150, 800)), draw(st.integers(150, 800))
    ints = st.lists
    return MinutiaSet.from_arrays(
        draw(ints(st.integers(0, width - 1), min_size=n, max_size=n)),
        draw(ints(st.integers(0, height - 1), min_size=n, max_size=n)),
        np.asarray(draw(ints(st.integers(0, 255), min_size=n, max_size=n))) * 2 * np.pi / 256,
        draw(ints(st.integers(0, 2), min_size=n, max_size=n)),
        draw(ints(st.integers(0, 100), min_size=n, max_size=n)),
        width=width,
        height=height,
        finger_position=draw(st.integers(0, 10)),
        image_quality=draw(st.integers(0, 100)),
    )


def _same_minutiae(a: fmr.FingerView, b: fmr.FingerView, angle_atol: int = 0) -> None:
    for name in ("x", "y", "kind", "minutia_quality"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    turn = np.abs(a.angle.astype(int) - b.angle.astype(int))
    assert (np.minimum(turn, 256 - turn) <= angle_atol).all()


@pytest.mark.parametrize("fmt", FORMATS)
@given(sets=st.lists(minutia_sets(), min_size=1, max_size=3))
@settings(max_examples=40, deadline=None)
def test_each_format_round_trips(fmt: str, sets: list[MinutiaSet]) -> None:
    record = fmr.from_minutia_sets(sets, fmt=fmt)
    data = templates.ENCODERS[fmt](record)
    assert templates.template_format(data) == fmt
    again = templates.decode_record(data)
    assert again.format == fmt and again.padding == 0 and not again.warnings
    for a, b in zip(record.views, again.views, strict=True):
        _same_minutiae(a, b)
        assert (a.finger_position, a.quality, a.width) == (b.finger_position, b.quality, b.width)


@given(sets=st.lists(minutia_sets(), min_size=1, max_size=2))
@settings(max_examples=40, deadline=None)
def test_conversion_carries_minutiae_across_all_formats(sets: list[MinutiaSet]) -> None:
    """2005 -> ANSI -> 2011 -> 2005 keeps everything but ANSI's coarser (2°) angles."""
    original = iso19794_2.write(sets)
    ansi, _ = templates.convert(original, ANSI_2004)
    iso2011, _ = templates.convert(ansi, ISO_2011)
    back, notes = templates.convert(iso2011, ISO_2005)
    assert notes == []
    first, last = iso19794_2.decode(original), iso19794_2.decode(back)
    for a, b in zip(first.views, last.views, strict=True):
        _same_minutiae(a, b, angle_atol=1)  # 2° is 1.42 ISO units: at most 1 unit off
        assert (a.finger_position, a.quality) == (b.finger_position, b.quality)
    direct, _ = templates.convert(original, ISO_2011)
    for a, b in zip(first.views, iso19794_2_2011.decode(direct).views, strict=True):
        _same_minutiae(a, b)


@pytest.mark.shared
def test_the_nist_sample_converts_to_every_format(shared_dir: Path) -> None:
    nist = (shared_dir / NIST_SAMPLE).read_bytes()
    assert templates.template_format(nist) == ISO_2005 and not ansi378.is_ansi(nist)
    source = iso19794_2.decode(nist)
    for target in FORMATS:
        out, notes = templates.convert(nist, target)
        record = templates.decode_record(out)
        assert record.format == target
        assert [len(v) for v in record.views] == [27, 22]
        dropped = any("extended data blocks were dropped" in n for n in notes)
        assert dropped == (target != ISO_2005)
        assert all(v.x_resolution == 197 for v in record.views)
        np.testing.assert_array_equal(record.views[1].x, source.views[1].x)


def _area_record(area_counts_field: bool, block_counts_header: bool) -> bytes:
    """One ISO 2005 view with two blocks, lengths written in the given convention."""
    base = iso19794_2.write([impression(master(3, finger_position=2), 1)])[:-2]
    blocks = b""
    for type_code, data in ((1, b"\x01\x00\x01\x04"), (2, b"\x05\x06\x07")):
        stated = len(data) + (4 if block_counts_header else 0)
        blocks += struct.pack(">HH", type_code, stated) + data
    area = struct.pack(">H", len(blocks) + (2 if area_counts_field else 0)) + blocks
    data = bytearray(base + area)
    data[8:12] = struct.pack(">I", len(data))
    return bytes(data)


@pytest.mark.parametrize("convention", fmr.CONVENTIONS)
def test_every_convention_is_read_and_reported(convention: fmr.ExtendedConvention) -> None:
    record = iso19794_2.decode(
        _area_record(convention.area_counts_length_field, convention.block_counts_header)
    )
    assert record.convention == convention
    assert [b.type_code for b in record.views[0].extended] == [1, 2]
    assert record.views[0].extended[1].data == b"\x05\x06\x07"


def test_padding_after_the_record_is_accepted_and_reported() -> None:
    record = iso19794_2.write([impression(master(4, finger_position=7), 1)])
    for fill in (b"\x00" * 13, b"\xff" * 3):
        padded = iso19794_2.decode(record + fill)
        assert padded.padding == len(fill) and padded.record_length == len(record)
        assert padded.warnings and f"{len(fill)} " in padded.warnings[0]
        header = templates.describe_template(record + fill)["header"]
        assert header["trailing_padding_bytes"] == len(fill)
    ansi, _ = templates.convert(record, ANSI_2004)
    assert ansi378.decode(ansi + b"\x00" * 4).padding == 4


def test_a_large_ansi_record_uses_the_six_byte_length() -> None:
    rng = np.random.default_rng(378)
    full = [
        MinutiaSet.from_arrays(
            rng.integers(0, 400, 255),
            rng.integers(0, 500, 255),
            rng.uniform(0, 2 * np.pi, 255),
            width=400,
            height=500,
            finger_position=1 + i % 10,
        )
        for i in range(50)
    ]
    data = ansi378.encode(fmr.from_minutia_sets(full, fmt=ANSI_2004))
    assert len(data) > 0xFFFF and data[8:10] == b"\x00\x00"
    assert struct.unpack(">I", data[10:14])[0] == len(data)
    assert templates.template_format(data) == ANSI_2004
    assert [len(v) for v in ansi378.decode(data).views] == [255] * 50


def test_views_at_different_resolutions_cannot_become_a_single_header_format() -> None:
    record = fmr.from_minutia_sets([master(5), master(6)], fmt=ISO_2011)
    views = list(record.views)
    views[1] = fmr.FingerView(**{**views[1].__dict__, "x_resolution": 394, "y_resolution": 394})
    data = iso19794_2_2011.encode(fmr.MinutiaeRecord(**{**record.__dict__, "views": tuple(views)}))
    assert [v.x_resolution for v in iso19794_2_2011.decode(data).views] == [197, 394]
    for target in (ISO_2005, ANSI_2004):
        with pytest.raises(TemplateFormatError) as caught:
            templates.convert(data, target)
        assert caught.value.field == "view[1].x_resolution"


def test_unknown_versions_and_targets_are_named() -> None:
    with pytest.raises(TemplateVersionError) as caught:
        templates.template_format(b"FMR\x00040\x00" + bytes(20))
    assert caught.value.field == "version"
    with pytest.raises(TemplateFormatError) as caught:
        templates.convert(iso19794_2.write([master(7)]), "ansi-incits-378:2009")
    assert caught.value.field == "target"


@pytest.mark.parametrize("fmt", [ISO_2011, ANSI_2004])
@given(cut=st.integers(0, 400), byte=st.integers(0, 255), tail=st.binary(max_size=60))
@settings(max_examples=150, deadline=None)
def test_damaged_records_raise_only_template_errors(
    fmt: str, cut: int, byte: int, tail: bytes
) -> None:
    record = fmr.from_minutia_sets(
        [impression(master(8, finger_position=2), 1), master(9, finger_position=7)], fmt=fmt
    )
    base = templates.ENCODERS[fmt](record)
    damaged = bytearray(base[:cut] + tail if cut < len(base) else base + tail)
    if damaged:
        damaged[(cut * 7) % len(damaged)] = byte
    try:
        templates.decode_record(bytes(damaged))
    except TemplateFormatError as exc:
        assert exc.field and exc.code.startswith("template_")
