"""The minutiae extractors by name, so every caller picks one the same way.

`fused` (the default) joins the minutiae of the two fast ones (`matcher.fingerprint.fused`):
`gabor`, the classical pipeline of `matcher.fingerprint.extract`, and `student`, the small
network of `matcher.fingerprint.student` distilled from `leader`, the learned detector of
`matcher.fingerprint.learned` (about a second an image, the most accurate). The learned ones
are imported only when asked for, so the classical one alone needs no onnxruntime.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from matcher.fingerprint.extract import ImageInput
from matcher.fingerprint.types import MinutiaSet

Extractor = Callable[..., MinutiaSet]

_MODULES = {
    "fused": "matcher.fingerprint.fused",
    "gabor": "matcher.fingerprint.extract",
    "leader": "matcher.fingerprint.learned",
    "student": "matcher.fingerprint.student",
}
NAMES = tuple(_MODULES)
# The one enrolment and verification extract with, and the one `templates re-extract` targets.
DEFAULT = "fused"


class UnknownExtractor(ValueError):
    """A name that is not one of `NAMES`."""

    code = "unknown_extractor"


def named(name: str) -> Extractor:
    """The `extract(image, *, resolution_dpi=None)` function of extractor `name`."""
    if name not in _MODULES:
        raise UnknownExtractor(f"unknown extractor {name!r}: one of {', '.join(NAMES)}")
    fn: Extractor = importlib.import_module(_MODULES[name]).extract
    return fn


def version(name: str) -> str:
    """The name and version extractor `name` stamps on its templates (`satupintu-gabor/1`):
    what a stored template is compared with to tell whether it needs extracting again."""
    named(name)  # the same refusal for an unknown name
    stamp: str = importlib.import_module(_MODULES[name]).EXTRACTOR
    return stamp


def run(name: str, image: ImageInput, *, resolution_dpi: int | None = None) -> MinutiaSet:
    """Minutiae of `image` by extractor `name`."""
    return named(name)(image, resolution_dpi=resolution_dpi)
