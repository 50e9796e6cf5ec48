"""Finger and iris image records with real codecs: every payload kind decodes to the pixels,
the record's resolution is the one used, and damaged records raise only typed errors."""

from __future__ import annotations

import functools

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from matcher.fingerprint import extract
from matcher.records import iso19794_4, iso19794_6
from matcher.records.capture import (
    decode_capture_record,
    finger_image,
    finger_image_record,
    iris_image,
    iris_image_record,
)
from matcher.records.errors import CaptureRecordError, RecordFormatError
from matcher.records.model import (
    FINGER_2005,
    FINGER_2011,
    PER_CM,
    PER_INCH,
    ImageRepresentation,
)
from matcher.records.payload import Compression, decode_pixels, encode_pixels
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.iris import render_eye
from matcher.synthetic.ridges import master_fingerprint

LOSSLESS = (Compression.RAW, Compression.PNG, Compression.JPEG2000)


@functools.cache
def finger() -> NDArray[np.uint8]:
    return impression_image(master_fingerprint(44), 1).image


@pytest.mark.parametrize("edition", [FINGER_2005, FINGER_2011])
@pytest.mark.parametrize("compression", [*LOSSLESS, Compression.WSQ, Compression.JPEG])
def test_finger_records_decode_every_payload_kind(edition: str, compression: Compression) -> None:
    record = finger_image_record(finger(), position=7, compression=compression, edition=edition)
    assert decode_capture_record(record).format == edition
    pixels, dpi = finger_image(record, position=7)
    assert dpi == 500 and pixels.shape == finger().shape
    error = np.abs(pixels.astype(int) - finger()).mean()
    # WSQ codes at the FBI's fixed ratio (about 12:1), lossy on synthetic ridges' fine noise.
    assert error <= {Compression.WSQ: 12, Compression.JPEG: 6}.get(compression, 0)


def test_a_bare_jpeg2000_codestream_is_read_too() -> None:
    jp2 = encode_pixels(finger(), Compression.JPEG2000)
    codestream = jp2[jp2.index(b"jp2c") + 4 :]
    assert codestream.startswith(b"\xff\x4f\xff\x51")
    height, width = finger().shape
    pixels = decode_pixels(
        codestream, Compression.JPEG2000, width=width, height=height, bit_depth=8, field="f"
    )
    np.testing.assert_array_equal(pixels, finger())


def _finger_representation(
    pixels: NDArray[np.uint8],
    compression: Compression,
    resolution: tuple[int, int],
    units: int = PER_INCH,
) -> ImageRepresentation:
    height, width = pixels.shape
    return ImageRepresentation(
        position=2,
        number=1,
        quality=0,
        width=width,
        height=height,
        bit_depth=8,
        compression=compression,
        data=encode_pixels(pixels, compression),
        scale_units=units,
        x_resolution=resolution[0],
        y_resolution=resolution[1],
    )


def test_the_stated_resolution_is_the_one_used() -> None:
    """A 1000 ppi capture (stated per cm, 394 px/cm) comes out at the pipeline's 500 dpi."""
    doubled = cv2.resize(finger(), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    rep = _finger_representation(doubled, Compression.PNG, (394, 394), units=PER_CM)
    pixels, dpi = finger_image(iso19794_4.encode([rep]), position=2)
    assert dpi == 1001  # 394 px/cm
    minutiae = extract.extract(pixels, resolution_dpi=dpi)
    assert abs(minutiae.width - finger().shape[1]) <= 1


def test_non_square_pixels_are_resampled_to_the_horizontal_rate() -> None:
    squeezed = cv2.resize(finger(), (finger().shape[1], finger().shape[0] // 2))
    rep = _finger_representation(squeezed, Compression.RAW, (500, 250))
    pixels, dpi = finger_image(iso19794_4.encode([rep]), position=2)
    assert dpi == 500 and pixels.shape == finger().shape


def test_iris_records_decode_to_the_eye_image() -> None:
    eye = render_eye(3, 1).image
    for compression in (Compression.JPEG2000, Compression.PNG, Compression.RAW):
        record = iris_image_record(eye, eye=2, compression=compression)
        np.testing.assert_array_equal(iris_image(record, eye=2), eye)
    with pytest.raises(CaptureRecordError) as caught:
        iris_image(iris_image_record(eye, eye=2), eye=1)
    assert caught.value.field == "representation"


@pytest.mark.parametrize(
    ("compression", "payload", "reason"),
    [
        (Compression.WSQ, b"\x89PNG\r\n\x1a\nxxxx", "does not start like wsq"),
        (Compression.WSQ, b"\xff\xa0\xff\xa8\x00\x10", "does not decode"),
        (Compression.JPEG2000, b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00", "does not decode"),
        (Compression.PNG, b"", "empty"),
    ],
)
def test_damaged_payloads_name_the_image_field(
    compression: Compression, payload: bytes, reason: str
) -> None:
    with pytest.raises(CaptureRecordError) as caught:
        decode_pixels(payload, compression, width=10, height=10, bit_depth=8, field="view[0].x")
    assert caught.value.field == "view[0].x" and reason in str(caught.value)


def test_a_payload_of_another_size_than_stated_is_refused() -> None:
    png = encode_pixels(finger(), Compression.PNG)
    with pytest.raises(CaptureRecordError, match="the header states 100×100"):
        decode_pixels(png, Compression.PNG, width=100, height=100, bit_depth=8, field="f")


@functools.cache
def _records() -> tuple[bytes, ...]:
    small = finger()[:200, :160]
    return (
        finger_image_record(small, position=2, compression=Compression.WSQ),
        finger_image_record(small, position=2, compression=Compression.PNG, edition=FINGER_2005),
        iso19794_6.encode(
            [
                ImageRepresentation(
                    position=1,
                    number=1,
                    quality=0,
                    width=64,
                    height=64,
                    bit_depth=8,
                    compression=Compression.JPEG2000,
                    data=encode_pixels(render_eye(2, 1).image[:64, :64], Compression.JPEG2000),
                )
            ]
        ),
    )


@given(st.integers(0, 2), st.integers(0, 4000), st.integers(0, 255), st.binary(max_size=64))
@settings(max_examples=300, deadline=None)
def test_damaged_records_raise_only_typed_errors(
    which: int, at: int, byte: int, tail: bytes
) -> None:
    """Any cut, byte change or appended junk is read or refused with a `RecordFormatError`."""
    data = bytearray(_records()[which])
    data[at % len(data)] = byte
    damaged = bytes(data[: max(at, 1)] if at < len(data) else data + tail)
    try:
        record = decode_capture_record(damaged)
        for i, rep in enumerate(record.representations):
            rep.pixels(f"representation[{i}].image_data")
    except RecordFormatError as exc:
        assert exc.field and exc.code.startswith("capture_record")
