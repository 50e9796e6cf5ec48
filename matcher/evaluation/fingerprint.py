"""The fingerprint engine as a `Modality`, and reading one capture from a file.

A capture is either an image (extracted with our pipeline) or a template record from any
extractor (ISO/IEC 19794-2, or our own storage format), so the harness and `satupintu match`
can measure and compare other vendors' templates exactly like our own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matcher.evaluation.modality import FailureToEnrol
from matcher.fingerprint import extractors
from matcher.fingerprint.compare import PreparedTemplate, compare_prepared, prepare
from matcher.fingerprint.extract import DEFAULT, ExtractionParams, extract
from matcher.fingerprint.image import FingerprintImageError
from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.templates import load_template
from matcher.fingerprint.types import MinutiaSet

EXTRACTORS = extractors.NAMES
IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".bmp", ".jpg", ".jpeg", ".pgm")
TEMPLATE_SUFFIXES = (".iso", ".ist", ".fmr", ".spt")

# Fewer valid cylinders than this cannot support a trustworthy decision: such a sample is a
# failure to enrol (MCC's own consolidation averages at least 4 pairs).
MIN_CYLINDERS = 4


def read_views(
    data: bytes,
    *,
    name: str = "",
    resolution_dpi: int | None = None,
    params: ExtractionParams = DEFAULT,
    extractor: str = extractors.DEFAULT,
) -> list[MinutiaSet]:
    """Minutiae of every finger view in a capture: a template record's views, or one image.

    Template records are recognised by their magic bytes whatever the file is called; anything
    else is treated as an image. Raises `FailureToEnrol` with the underlying reason.
    """
    try:
        views = load_template(data)
    except TemplateFormatError as exc:
        if exc.code != "template_format":
            raise FailureToEnrol(f"{name or 'template'}: {exc}", code=exc.code) from exc
    else:
        if not views:
            raise FailureToEnrol(f"{name or 'template'} holds no finger view", code="no_view")
        return views
    try:
        if extractor != "gabor":
            return [extractors.run(extractor, data, resolution_dpi=resolution_dpi)]
        return [extract(data, resolution_dpi=resolution_dpi, params=params)]
    except FingerprintImageError as exc:
        raise FailureToEnrol(f"{name or 'image'}: {exc}", code=exc.code) from exc


def read_capture(
    data: bytes,
    *,
    name: str = "",
    resolution_dpi: int | None = None,
    params: ExtractionParams = DEFAULT,
    extractor: str = extractors.DEFAULT,
) -> MinutiaSet:
    """The first (for an image, the only) finger view of a capture."""
    views = read_views(
        data, name=name, resolution_dpi=resolution_dpi, params=params, extractor=extractor
    )
    return views[0]


def enrol(ms: MinutiaSet, *, name: str = "") -> PreparedTemplate:
    """Comparison-ready template, or `FailureToEnrol` when too little of it is usable."""
    prepared = prepare(ms)
    if len(prepared) < MIN_CYLINDERS:
        raise FailureToEnrol(
            f"{name or 'sample'}: {len(ms)} minutiae give {len(prepared)} usable cylinders,"
            f" at least {MIN_CYLINDERS} are needed",
            code="too_few_minutiae",
        )
    return prepared


@dataclass(frozen=True)
class FingerprintModality:
    """Our extractor plus MCC/LSS-R comparison; `resolution_dpi` and `params` apply to images.

    `params` lets a tuning run measure other Gabor extraction settings on the same harness
    (with `extractor="gabor"`, the only one they apply to);
    `extractor` is one of `EXTRACTORS` (see `matcher.fingerprint.extractors`).
    """

    resolution_dpi: int | None = None
    params: ExtractionParams = DEFAULT
    extractor: str = extractors.DEFAULT
    name: str = "fingerprint"
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES + TEMPLATE_SUFFIXES

    def load(self, path: Path) -> PreparedTemplate:
        ms = read_capture(
            path.read_bytes(),
            name=path.name,
            resolution_dpi=self.resolution_dpi,
            params=self.params,
            extractor=self.extractor,
        )
        return enrol(ms, name=path.name)

    def compare(self, a: PreparedTemplate, b: PreparedTemplate) -> float:
        return compare_prepared(a, b)
