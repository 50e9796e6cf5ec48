"""Real fingerprint templates for the index tests: synthetic fingers, prepared once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from matcher.fingerprint.compare import PreparedTemplate, prepare
from matcher.index.binary import BinaryIdentifier
from matcher.index.fingerprint import fingerprint_identifier
from matcher.index.local_codes import LocalCodeEncoder, LocalCodeParams
from matcher.index.settings import IndexSettings
from matcher.index.whitening_training import encoder_for
from matcher.synthetic.minutiae import impression, master

FINGERS = 24


@dataclass(frozen=True)
class Finger:
    enrolled: PreparedTemplate
    probe: PreparedTemplate


@pytest.fixture(scope="session")
def encoder() -> LocalCodeEncoder:
    """A cheaper population mean than the default (60 training fingers), same design."""
    return encoder_for(LocalCodeParams(training_fingers=60))


@pytest.fixture(scope="session")
def fingers() -> list[Finger]:
    """Enrolment and probe impressions of FINGERS synthetic masters (index = person id)."""
    out = []
    for i in range(FINGERS):
        m = master(7000 + i)
        out.append(Finger(prepare(impression(m, seed=1)), prepare(impression(m, seed=2))))
    return out


@pytest.fixture(scope="session")
def stranger() -> PreparedTemplate:
    """A finger never enrolled."""
    return prepare(impression(master(99_999), seed=3))


@pytest.fixture
def make_identifier(
    encoder: LocalCodeEncoder,
) -> Callable[..., BinaryIdentifier[PreparedTemplate]]:
    def make(**settings: Any) -> BinaryIdentifier[PreparedTemplate]:
        return fingerprint_identifier(settings=IndexSettings(**settings), encoder=encoder)

    return make
