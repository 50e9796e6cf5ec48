"""How an identifier holds its persons, and a gallery as flat arrays for snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class StoredPerson:
    """One enrolled person: home region, sample positions and their templates' bytes."""

    region_key: int
    positions: tuple[int, ...]
    templates: tuple[bytes, ...]
    code_counts: tuple[int, ...]  # codes each sample holds in FAISS (part of their ids)


@dataclass(frozen=True, slots=True)
class GalleryRows:
    """A gallery as flat arrays: what snapshots store and bulk loads read.

    Samples (one row per person and position, a person's rows contiguous) and codes (one row
    per code, `code_ids` the FAISS id `person_id * 16 + position` of its sample).
    """

    person_ids: NDArray[np.int64]
    region_keys: NDArray[np.int64]
    positions: NDArray[np.int64]
    templates: Sequence[bytes]
    code_ids: NDArray[np.int64]
    codes: NDArray[np.uint8]
    last_event_id: int
