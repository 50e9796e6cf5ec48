"""The stored iris template round-trips and refuses damaged records."""

from __future__ import annotations

import pytest

from matcher.iris.storage import RECORD_BYTES, from_bytes, to_bytes
from matcher.iris.types import IrisTemplateError
from matcher.synthetic.iris_codes import capture


def test_round_trip() -> None:
    code, _ = capture(1, 0)
    data = to_bytes(code, quality=77)
    assert len(data) == RECORD_BYTES
    back, quality = from_bytes(data)
    assert quality == 77
    assert (back.code == code.code).all() and (back.mask == code.mask).all()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d[:-1],
        lambda d: d + b"\x00",
        lambda d: b"XXXX" + d[4:],
        lambda d: d[:4] + b"\x09" + d[5:],
        lambda d: b"",
    ],
)
def test_damaged_records_are_refused(mangle: object) -> None:
    code, _ = capture(1, 0)
    with pytest.raises(IrisTemplateError):
        from_bytes(mangle(to_bytes(code)))  # type: ignore[operator]


def test_codes_of_the_earlier_filter_are_refused_with_a_request_to_re_enrol() -> None:
    code, _ = capture(1, 0)
    data = to_bytes(code)
    with pytest.raises(IrisTemplateError, match="re-enrol"):
        from_bytes(data[:4] + b"\x01" + data[5:])
