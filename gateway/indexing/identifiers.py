"""How the gateway builds each modality's 1:N identifier from the matcher's parts."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint import compare as finger_compare
from matcher.fingerprint.calibration import Calibration, default_calibration
from matcher.fingerprint.types import MinutiaSet
from matcher.index import snapshot
from matcher.index.buckets import train_ivf_centroids
from matcher.index.fingerprint import fingerprint_identifier
from matcher.index.local_codes import LocalCodeEncoder
from matcher.index.settings import PROFILES, IndexSettings, Profile, profile_for
from matcher.index.snapshot import SnapshotError
from matcher.iris.index import iris_identifier
from matcher.iris.types import IrisCode
from matcher.synthetic.minutiae import impression, master

Modality = Literal["finger", "iris"]


@cache
def shared_finger_encoder() -> LocalCodeEncoder:
    """One encoder per process: its mean and whitening are learned once (~1 s), then reused."""
    return LocalCodeEncoder()


# FAISS warns below 39 training codes a list; 40 is the sample the benchmarks train on.
_TRAINING_CODES_PER_LIST = 40
# Synthetic training fingers (only when the register is small) come from masters numbered
# far from the encoder's own training seeds and the benchmarks' galleries.
_SYNTHETIC_TRAINING_SEED = 7_000_000_000


class IdentifierFactory:
    """Builds each modality's identifier and shapes templates the way that identifier wants.

    Every identifier shares the process's encoder, so rebuilds and restarts stay fast.
    """

    def __init__(
        self,
        *,
        finger_calibration: Calibration | None = None,
        finger_settings: IndexSettings | None = None,
        finger_profile: Profile | Literal["auto"] = "auto",
    ) -> None:
        """Fixed `finger_settings`, or those of a named profile ("auto": the profile of the
        gallery's size, chosen by `fit` before the index is built)."""
        # Concurrency comes from concurrent requests; FAISS's OpenMP threads inside one small
        # search only contend with them (measured: 150 ms instead of 0.15 ms per search on
        # 2 busy cores), so each search runs on its caller's thread.
        faiss.omp_set_num_threads(1)
        self.finger_encoder = shared_finger_encoder()
        self.finger_calibration = finger_calibration or default_calibration()
        self.finger_profile = finger_profile if finger_settings is None else None
        self.finger_settings = (
            finger_settings or PROFILES["small" if finger_profile == "auto" else finger_profile]
        )
        self.modalities: tuple[Modality, ...] = ("finger", "iris")

    def fit(self, fingers: int) -> None:
        """Settings of the profile that fits a gallery of `fingers` (when "auto")."""
        if self.finger_profile == "auto":
            self.finger_settings = PROFILES[profile_for(fingers)]

    def needs_centroids(self, modality: Modality) -> bool:
        """Whether `modality`'s identifier is an IVF index (built from learned centroids)."""
        return modality == "finger" and self.finger_settings.index_type == "ivf"

    def __call__(self, modality: Modality, ivf_centroids: NDArray[np.uint8] | None = None) -> Any:
        if modality == "finger":
            if self.needs_centroids(modality) and ivf_centroids is None:
                # A snapshot of a flat index, read under IVF settings: rebuilt, not served.
                raise SnapshotError(
                    "the fingerprint index is set to IVF but no centroids were given",
                    code="snapshot_index_type",
                )
            return fingerprint_identifier(
                settings=self.finger_settings,
                calibration=self.finger_calibration,
                encoder=self.finger_encoder,
                ivf_centroids=ivf_centroids,
            )
        if modality == "iris":
            return iris_identifier()
        raise ValueError(f"no identifier for modality {modality}")

    def finger_centroids(self, enrolled: Iterable[Any]) -> NDArray[np.uint8]:
        """IVF centroids learned from the codes of enrolled fingers (prepared templates).

        FAISS wants about 40 training codes a list; the enrolled fingers are read only until
        there are that many. A register too small to supply them (a new deployment) is
        topped up with seeded synthetic impressions, whose codes stand in for a population
        the register does not hold yet; `satupintu index rebuild` learns again once it does.
        """
        lists = self.finger_settings.ivf_lists
        wanted = _TRAINING_CODES_PER_LIST * lists
        codes: list[NDArray[np.uint8]] = []
        count = 0
        for template in enrolled:
            codes.append(self.finger_encoder.encode(template))
            count += len(codes[-1])
            if count >= wanted:
                break
        seed = _SYNTHETIC_TRAINING_SEED
        while count < wanted:
            codes.append(self.finger_encoder.encode(impression(master(seed), seed=seed)))
            count += len(codes[-1])
            seed += 1
        return train_ivf_centroids(np.concatenate(codes), lists)

    def entry(self, modality: Modality, template: Any) -> Any:
        """A template (a `MinutiaSet`, an `IrisCode`) as this modality's identifier holds it."""
        if modality == "finger" and isinstance(template, MinutiaSet):
            return finger_compare.prepare(template)
        if modality == "iris" and isinstance(template, IrisCode):
            return template
        raise ValueError(f"no identifier for modality {modality}")


def load_snapshot(modality: Modality, path: Path, factory: IdentifierFactory) -> Any:
    """A snapshot loaded into a fresh identifier (SnapshotError when unusable)."""
    return snapshot.load_snapshot(path, lambda centroids: factory(modality, centroids))


def save_snapshot(identifier: Any, path: Path) -> None:
    snapshot.save_snapshot(identifier, path)
