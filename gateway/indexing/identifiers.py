"""How the gateway builds each modality's 1:N identifier from the matcher's parts.

The index stores templates as compact bytes and decodes only its shortlist; building MCC
cylinders for a decoded template costs far more than comparing two, so the comparator works
on `FingerEntry` objects that prepare lazily, and decoded entries are kept in an LRU keyed
by their bytes: a gallery's hot templates are prepared once, not once per search.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from gateway.enrollment.engine import LruCache
from matcher.fingerprint import compare as finger_compare
from matcher.fingerprint import storage as finger_storage
from matcher.fingerprint.calibration import Calibration, default_calibration
from matcher.fingerprint.types import MinutiaSet
from matcher.index.binary import BinaryIdentifier, IndexSettings
from matcher.index.fingerprint import PairCodeEncoder

Modality = Literal["finger", "iris"]


class FingerEntry:
    """A minutia set with its comparison-ready form built on first use."""

    __slots__ = ("_prepared", "minutiae")

    def __init__(self, minutiae: MinutiaSet) -> None:
        self.minutiae = minutiae
        self._prepared: finger_compare.PreparedTemplate | None = None

    @property
    def prepared(self) -> finger_compare.PreparedTemplate:
        if self._prepared is None:
            self._prepared = finger_compare.prepare(self.minutiae)
        return self._prepared


class FingerEncoder:
    """The pair-geometry binary code of the entry's minutiae (the coarse FAISS stage)."""

    def __init__(self) -> None:
        self.inner = PairCodeEncoder()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def code_bytes(self) -> int:
        return self.inner.code_bytes

    def encode(self, template: FingerEntry) -> Any:
        return self.inner.encode(template.minutiae)


class FingerCodec:
    """Entries as the versioned internal template format; decoded entries are cached."""

    def __init__(self, cache_size: int) -> None:
        self.cache: LruCache[bytes, FingerEntry] = LruCache(cache_size)

    def to_bytes(self, template: FingerEntry) -> bytes:
        return finger_storage.dumps([template.minutiae])

    def from_bytes(self, data: bytes) -> FingerEntry:
        key = hashlib.blake2b(data, digest_size=16).digest()
        entry = self.cache.get(key)
        if entry is None:
            entry = FingerEntry(finger_storage.loads(data)[0])
            self.cache.put(key, entry)
        return entry


def finger_similarity(probe: FingerEntry, enrolled: FingerEntry) -> float:
    return float(finger_compare.DEFAULT_COMPARATOR(probe.prepared, enrolled.prepared))


class IdentifierFactory:
    """Builds each modality's identifier and wraps templates the way that identifier wants."""

    def __init__(
        self, *, cache_size: int = 50_000, finger_calibration: Calibration | None = None
    ) -> None:
        self.finger_encoder = FingerEncoder()
        self.finger_codec = FingerCodec(cache_size)
        self.finger_calibration = finger_calibration or default_calibration()
        self.modalities: tuple[Modality, ...] = ("finger",)

    def __call__(self, modality: Modality) -> Any:
        if modality != "finger":
            raise ValueError(f"no identifier for modality {modality}")
        return BinaryIdentifier(
            encoder=self.finger_encoder,
            codec=self.finger_codec,
            comparator=finger_similarity,
            calibration=self.finger_calibration,
            settings=IndexSettings(),
        )

    def entry(self, modality: Modality, template: Any) -> Any:
        """A template (a `MinutiaSet`, ...) as this modality's identifier holds it."""
        if modality == "finger":
            return FingerEntry(template)
        raise ValueError(f"no identifier for modality {modality}")


def load_snapshot(modality: Modality, path: Path, factory: IdentifierFactory) -> Any:
    """A snapshot loaded into a fresh identifier (SnapshotError when unusable)."""
    identifier = factory(modality)
    identifier.load(path)
    return identifier
