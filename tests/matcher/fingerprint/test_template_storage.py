"""Internal template storage: round trips, versions, corruption; and the format-sniffing loader."""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.fingerprint import iso19794_2, storage
from matcher.fingerprint.template_errors import (
    TemplateFormatError,
    TemplateTruncatedError,
    TemplateVersionError,
)
from matcher.fingerprint.templates import describe_template, load_template
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.minutiae import master


@st.composite
def minutia_sets(draw: st.DrawFn) -> MinutiaSet:
    """Arbitrary float sets: storage must keep them to a quarter pixel and a hundredth degree."""
    n = draw(st.integers(0, 50))
    coords = st.floats(0, 2000, allow_nan=False, width=32)
    angles = st.floats(0, 6.25, allow_nan=False, width=32)
    x = draw(st.lists(coords, min_size=n, max_size=n))
    y = draw(st.lists(coords, min_size=n, max_size=n))
    d = draw(st.lists(angles, min_size=n, max_size=n))
    k = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    q = draw(st.lists(st.integers(0, 100), min_size=n, max_size=n))
    return MinutiaSet.from_arrays(
        x,
        y,
        d,
        k,
        q,
        width=draw(st.integers(1, 2000)),
        height=draw(st.integers(1, 2000)),
        resolution_dpi=draw(st.sampled_from([500, 569, 1000])),
        finger_position=draw(st.integers(0, 10)),
        image_quality=draw(st.integers(0, 100)),
        extractor=draw(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)),
    )


@given(st.lists(minutia_sets(), min_size=1, max_size=3))
@settings(max_examples=50, deadline=None)
def test_random_sets_round_trip(sets: list[MinutiaSet]) -> None:
    back = storage.loads(storage.dumps(sets))
    assert len(back) == len(sets)
    for a, b in zip(sets, back, strict=True):
        np.testing.assert_allclose(b.x, a.x, atol=0.126)
        np.testing.assert_allclose(b.y, a.y, atol=0.126)
        turn = np.angle(np.exp(1j * (b.direction.astype(np.float64) - a.direction)))
        assert np.abs(turn).max(initial=0) < 1e-3
        np.testing.assert_array_equal(a.kind, b.kind)
        np.testing.assert_array_equal(a.quality, b.quality)
        assert (a.width, a.height, a.resolution_dpi) == (b.width, b.height, b.resolution_dpi)
        assert (a.finger_position, a.image_quality) == (b.finger_position, b.image_quality)
        assert a.extractor == b.extractor


def test_storage_is_compact() -> None:
    m = replace(master(1), extractor="satupintu-gabor/1")
    assert len(storage.dumps([m])) == 5 + 10 + 1 + len(m.extractor) + 8 * len(m) + 4


def _version_1(m: MinutiaSet) -> bytes:
    """A record as the first storage version wrote it: no extractor field."""
    body = b"SPT" + bytes([1, 1])
    body += struct.pack("<HHHBBH", m.width, m.height, m.resolution_dpi, 0, m.image_quality, len(m))
    for x, y, d, k, q in zip(m.x, m.y, m.direction, m.kind, m.quality, strict=True):
        turn = round(d * 65536 / (2 * np.pi)) % 65536
        body += struct.pack("<HHHBB", round(x * 4), round(y * 4), turn, k, q)
    return body + struct.pack("<I", zlib.crc32(body))


def test_templates_stored_before_extractors_were_recorded_still_load() -> None:
    m = master(8)
    (old,) = storage.loads(_version_1(m))
    assert old.extractor == ""
    np.testing.assert_allclose(old.x, m.x, atol=0.13)
    np.testing.assert_array_equal(old.kind, m.kind)


def test_the_extractor_that_made_a_template_is_kept() -> None:
    a, b = replace(master(9), extractor="satupintu-gabor/1"), replace(master(10), extractor="x/2")
    assert [s.extractor for s in storage.loads(storage.dumps([a, b]))] == [
        "satupintu-gabor/1",
        "x/2",
    ]
    assert describe_template(storage.dumps([a]))["views"][0]["extractor"] == "satupintu-gabor/1"


def test_unknown_version_is_refused() -> None:
    data = bytearray(storage.dumps([master(2)]))
    data[3] = 9
    with pytest.raises(TemplateVersionError) as info:
        storage.loads(bytes(data))
    assert info.value.field == "version" and info.value.code == "template_version_unsupported"


def test_corruption_and_truncation_are_detected() -> None:
    data = storage.dumps([master(3), master(4)])
    flipped = bytearray(data)
    flipped[40] ^= 0x10
    with pytest.raises(TemplateFormatError, match="crc32"):
        storage.loads(bytes(flipped))
    with pytest.raises(TemplateTruncatedError) as info:
        storage.loads(data[:200])
    assert info.value.field.startswith("view[")
    with pytest.raises(TemplateFormatError, match="magic"):
        storage.loads(b"XYZ" + data[3:])


def test_loader_sniffs_both_formats() -> None:
    m = master(5)
    (from_iso,) = load_template(iso19794_2.write([m]))
    (from_storage,) = load_template(storage.dumps([m]))
    np.testing.assert_allclose(from_iso.x, np.rint(m.x))
    np.testing.assert_allclose(from_storage.x, m.x, atol=0.13)
    with pytest.raises(TemplateFormatError) as info:
        load_template(b"\x89PNG\r\n\x1a\n")
    assert info.value.field == "format_identifier"


def test_describe_reports_header_views_and_minutiae(shared_dir: Path) -> None:
    data = (shared_dir / "datasets/iso19794-2/nist-biomdi-annex-c2-example.raw").read_bytes()
    doc = json.loads(json.dumps(describe_template(data)))
    assert doc["header"]["number_of_views"] == 2
    assert [v["minutia_count"] for v in doc["views"]] == [27, 22]
    first = doc["views"][0]["minutiae"][0]
    assert first == {"x": 100, "y": 14, "angle": 112.5, "type": "ending", "quality": 90}
    (block,) = doc["views"][1]["extended_data"]
    assert block["ridge_counts"] == [[1, 20, 12], [5, 7, 5]]


def test_describe_internal_template() -> None:
    doc = describe_template(storage.dumps([master(6)]))
    assert doc["format"] == "satupintu-v2"
    assert doc["views"][0]["minutia_count"] == len(master(6))


@given(st.integers(0, 400), st.integers(0, 255), st.binary(max_size=40))
@settings(max_examples=200, deadline=None)
def test_damaged_templates_raise_only_template_errors(cut: int, byte: int, tail: bytes) -> None:
    data = bytearray(storage.dumps([master(7)])[:cut] + tail)
    if len(data) > 5:
        data[5 + cut % (len(data) - 5)] = byte
    try:
        load_template(bytes(data))
    except TemplateFormatError as exc:
        assert exc.field
