"""Conformance set for biometric records: hand-laid artefacts with their expected decodings.

Each `records/NAME.hex` lays a record out field by field from the standard's byte layout
(ISO/IEC 19794-2:2005 and 2011, ANSI/INCITS 378-2004, ISO/IEC 19794-4:2005 and 2011,
ISO/IEC 19794-6:2011), one field per line with its meaning; `records/NAME.json` is what
`satupintu template show` must print for it (every key given must match, others may be
present) or, under `refused`, the error code, the field and a phrase of the reason. The
records are written by hand, not by this project's encoders, so the decoders are checked
against the layouts themselves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from matcher.fingerprint.templates import describe_template
from matcher.records.capture import (
    decode_capture_record,
    describe_capture_record,
    is_capture_record,
)
from matcher.records.errors import RecordFormatError

RECORDS = Path(__file__).parent / "records"
ARTEFACTS = sorted(p.stem for p in RECORDS.glob("*.hex"))


def read_hex(path: Path) -> bytes:
    """Bytes of an annotated hex file: hex pairs before any `#` comment on each line."""
    text = " ".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
    return bytes.fromhex(text)


def describe(data: bytes) -> dict[str, Any]:
    return describe_capture_record(data) if is_capture_record(data) else describe_template(data)


def assert_subset(expected: Any, actual: Any, where: str = "") -> None:
    """Every key and list item given in `expected` is in `actual` with the same value."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            assert_subset(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def test_the_set_covers_every_format_and_both_outcomes() -> None:
    prefixes = {name.split("-", 1)[0] for name in ARTEFACTS}
    assert prefixes == {"fmr2005", "fmr2011", "ansi378", "fir2005", "fir2011", "iir2011"}
    refused = [n for n in ARTEFACTS if "refused" in json.loads((RECORDS / f"{n}.json").read_text())]
    assert 5 <= len(refused) < len(ARTEFACTS) - 5


@pytest.mark.parametrize("name", ARTEFACTS)
def test_artefact_decodes_as_expected(name: str) -> None:
    data = read_hex(RECORDS / f"{name}.hex")
    expected = json.loads((RECORDS / f"{name}.json").read_text())
    if "refused" in expected:
        refusal = expected["refused"]
        with pytest.raises(RecordFormatError) as caught:
            describe(data)
        assert caught.value.code == refusal["code"], str(caught.value)
        assert caught.value.field == refusal["field"], str(caught.value)
        assert refusal.get("reason", "") in str(caught.value)
        return
    pixels = expected.pop("pixels", None)
    assert_subset(expected, json.loads(json.dumps(describe(data))), name)
    if pixels is not None:
        rep = decode_capture_record(data).representations[0]
        np.testing.assert_array_equal(rep.pixels("image_data"), np.array(pixels, np.uint8))


@pytest.mark.parametrize(
    "name",
    [
        "fmr2005-padded-card-slot",
        "fmr2011-one-representation",
        "ansi378-two-byte-length",
        "fir2005-raw",
        "fir2011-raw-per-cm",
        "iir2011-raw",
    ],
)
def test_template_show_prints_each_record_type(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.bin"
    path.write_bytes(read_hex(RECORDS / f"{name}.hex"))
    result = CliRunner().invoke(app, ["template", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["format"] == describe(path.read_bytes())["format"]


def test_template_show_names_the_field_of_a_refused_capture_record(tmp_path: Path) -> None:
    path = tmp_path / "eye.iir"
    path.write_bytes(read_hex(RECORDS / "iir2011-bad-eye-label.hex"))
    result = CliRunner().invoke(app, ["template", "show", str(path)])
    assert result.exit_code == 2
    error = json.loads(result.stderr)
    assert error["field"] == "representation[0].eye_label"
    assert error["error"] == "capture_record_invalid"


@pytest.mark.parametrize("name", ARTEFACTS)
def test_every_cut_and_byte_change_of_an_artefact_raises_only_typed_errors(name: str) -> None:
    """Each prefix, and the record with any one byte inverted, is shown or refused by field."""
    data = read_hex(RECORDS / f"{name}.hex")
    variants = [data[:cut] for cut in range(len(data))]
    variants += [data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :] for i in range(len(data))]
    for variant in variants:
        try:
            describe(variant)
        except RecordFormatError as exc:
            assert exc.field and str(exc).startswith(f"{exc.field}: ")
