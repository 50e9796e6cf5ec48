"""The iris engine as a `Modality` for the accuracy harness (`--modality iris`).

Scores are similarities, as the harness expects: 1 − HD_norm, where HD_norm is the
best-shift masked Hamming distance normalised for the bits compared and their correlation
(`matcher.iris.compare`; 0.5 ≈ unrelated eyes, 1 = identical).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matcher.evaluation.modality import FailureToEnrol
from matcher.iris.compare import compare
from matcher.iris.pipeline import extract_iris
from matcher.iris.types import IrisCode, IrisError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm")


def similarity(a: IrisCode, b: IrisCode) -> float:
    """1 − normalised Hamming distance of the best shift: higher means more alike."""
    return 1.0 - compare(a, b).distance


@dataclass(frozen=True)
class IrisModality:
    """Segmentation + log-Gabor encoding + shifted masked Hamming comparison."""

    name: str = "iris"
    suffixes: tuple[str, ...] = IMAGE_SUFFIXES

    def load(self, path: Path) -> IrisCode:
        try:
            return extract_iris(path.read_bytes()).iris_code
        except IrisError as exc:
            raise FailureToEnrol(f"{path.name}: {exc.message}", code=exc.code) from exc

    def compare(self, a: IrisCode, b: IrisCode) -> float:
        return similarity(a, b)


def create(resolution_dpi: int | None = None) -> IrisModality:
    """Registry factory; iris cameras have no dpi setting, so the argument is ignored."""
    return IrisModality()
