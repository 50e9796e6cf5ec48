"""How the gateway builds each modality's 1:N identifier from the matcher's parts."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal

import faiss

from matcher.fingerprint import compare as finger_compare
from matcher.fingerprint.calibration import Calibration, default_calibration
from matcher.fingerprint.types import MinutiaSet
from matcher.index import snapshot
from matcher.index.binary import IndexSettings
from matcher.index.fingerprint import LocalCodeEncoder, fingerprint_identifier
from matcher.iris.index import iris_identifier
from matcher.iris.types import IrisCode

Modality = Literal["finger", "iris"]


@cache
def shared_finger_encoder() -> LocalCodeEncoder:
    """One encoder per process: its population mean is learned once (seconds), then reused."""
    return LocalCodeEncoder()


class IdentifierFactory:
    """Builds each modality's identifier and shapes templates the way that identifier wants.

    Every identifier shares the process's encoder, so rebuilds and restarts stay fast.
    """

    def __init__(
        self,
        *,
        finger_calibration: Calibration | None = None,
        settings: IndexSettings | None = None,
    ) -> None:
        # Concurrency comes from concurrent requests; FAISS's OpenMP threads inside one small
        # search only contend with them (measured: 150 ms instead of 0.15 ms per search on
        # 2 busy cores), so each search runs on its caller's thread.
        faiss.omp_set_num_threads(1)
        self.finger_encoder = shared_finger_encoder()
        self.finger_calibration = finger_calibration or default_calibration()
        self.settings = settings
        self.modalities: tuple[Modality, ...] = ("finger", "iris")

    def __call__(self, modality: Modality) -> Any:
        if modality == "finger":
            return fingerprint_identifier(
                settings=self.settings,
                calibration=self.finger_calibration,
                encoder=self.finger_encoder,
            )
        if modality == "iris":
            return iris_identifier(settings=self.settings)
        raise ValueError(f"no identifier for modality {modality}")

    def entry(self, modality: Modality, template: Any) -> Any:
        """A template (a `MinutiaSet`, an `IrisCode`) as this modality's identifier holds it."""
        if modality == "finger" and isinstance(template, MinutiaSet):
            return finger_compare.prepare(template)
        if modality == "iris" and isinstance(template, IrisCode):
            return template
        raise ValueError(f"no identifier for modality {modality}")


def load_snapshot(modality: Modality, path: Path, factory: IdentifierFactory) -> Any:
    """A snapshot loaded into a fresh identifier (SnapshotError when unusable)."""
    return snapshot.load_snapshot(path, lambda _centroids: factory(modality))


def save_snapshot(identifier: Any, path: Path) -> None:
    snapshot.save_snapshot(identifier, path)
