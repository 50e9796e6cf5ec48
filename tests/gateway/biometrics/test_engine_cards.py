"""The e-KTP card cache: a chip's template is decoded and prepared once per finger."""

from __future__ import annotations

import pytest

from gateway.biometrics.engine import BiometricEngine
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.minutiae import master


class CountingDecoder:
    """Stands in for reading the card record, counting how often it is read."""

    def __init__(self, finger: MinutiaSet) -> None:
        self.finger = finger
        self.calls = 0

    def __call__(self) -> MinutiaSet:
        self.calls += 1
        return self.finger


def test_a_card_seen_again_is_neither_decoded_nor_prepared_again() -> None:
    engine = BiometricEngine()
    decode = CountingDecoder(master(3, finger_position=2))
    first = engine.prepared_card(b"card-A", 2, decode)
    again = engine.prepared_card(b"card-A", 2, decode)
    assert again is first
    assert decode.calls == 1
    engine.prepared_card(b"card-A", 7, decode)  # another finger of the same card
    engine.prepared_card(b"card-B", 2, decode)  # another card
    assert decode.calls == 3


def test_a_card_that_fails_to_decode_is_not_cached() -> None:
    engine = BiometricEngine()

    def broken() -> MinutiaSet:
        raise TemplateFormatError("format_identifier", "not an ISO/IEC 19794-2 record")

    with pytest.raises(TemplateFormatError):
        engine.prepared_card(b"bad", 2, broken)
    decode = CountingDecoder(master(4, finger_position=2))
    engine.prepared_card(b"bad", 2, decode)
    assert decode.calls == 1
