"""The parts of a 1:N index shared by every modality (fingerprint, iris).

A 1:N search has two stages, and this module names the parts each modality plugs in:

1. a `FixedLengthEncoder` turns a template into fixed-length binary codes (one for an iris
   code, one per minutia neighbourhood for a fingerprint), so a FAISS binary index returns
   the nearest enrolled codes in milliseconds and their owners form a shortlist;
2. an exact `Comparator` (the modality's 1:1 matcher) re-ranks that shortlist, and a
   `ScoreCalibration` turns its scores into false match rates, from which the false positive
   identification rate at the current gallery size follows (FPIR ≈ N × FMR).

The index itself is derived data: the gateway's database is the source of truth and feeds
the index a stream of `IndexEvent`s (each with a monotonically increasing id), so an index
can be snapshotted, reloaded and caught up by replaying the events after its snapshot.
Templates are opaque to the index (a `MinutiaSet`, an iris code, ...): it only ever passes
them to the encoder, the comparator and the `TemplateCodec` that persists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

T = TypeVar("T")
T_contra = TypeVar("T_contra", contravariant=True)

# Similarity of a probe (first) and an enrolled template (second); higher means more alike.
# Distances (iris Hamming distances) are wrapped by their modality to a similarity.
Comparator = Callable[[T, T], float]

# Progress of a long build: (items done, items expected or None when unknown).
ProgressCallback = Callable[[int, int | None], None]


class IndexFailure(ValueError):
    """Base of every error the index raises: a machine-readable `code` and a human sentence."""

    code: str = "index_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class SnapshotError(IndexFailure):
    """A snapshot cannot be served from: wrong format version, other encoder, corrupt bytes.

    The caller's answer is always the same: rebuild from the database (the source of truth)
    rather than serve a possibly wrong gallery.
    """

    code = "snapshot_invalid"


class ProbeError(IndexFailure):
    """A probe that cannot be searched (no samples, no usable template)."""

    code = "probe_invalid"


class RegionError(IndexFailure):
    """A region code that is not a valid NIK province/regency pair."""

    code = "region_invalid"


@dataclass(frozen=True, slots=True, order=True)
class RegionCode:
    """The first four digits of a NIK: province (2 digits) and optionally regency (2 digits).

    A terminal serves one regency, so cardless searches go there first; `regency=None` means
    the whole province.
    """

    province: int
    regency: int | None = None

    def __post_init__(self) -> None:
        if not 11 <= self.province <= 99:
            raise RegionError(f"province code {self.province} is not two digits (11–99)")
        if self.regency is not None and not 1 <= self.regency <= 99:
            raise RegionError(f"regency code {self.regency} is not two digits (01–99)")

    @classmethod
    def from_nik(cls, nik: str) -> RegionCode:
        """The person's home regency, read from the NIK's first four digits."""
        if len(nik) != 16 or not nik.isdigit():
            raise RegionError("a NIK has exactly 16 digits")
        return cls(province=int(nik[:2]), regency=int(nik[2:4]))

    @property
    def key(self) -> int:
        """A compact integer key (PPRR) used to bucket the gallery; regency 0 = whole province."""
        return self.province * 100 + (self.regency or 0)

    @classmethod
    def from_key(cls, key: int) -> RegionCode:
        province, regency = divmod(int(key), 100)
        return cls(province=province, regency=regency or None)

    def contains(self, other: RegionCode) -> bool:
        """Whether `other` (a person's home region) lies inside this search scope."""
        if self.province != other.province:
            return False
        return self.regency is None or self.regency == other.regency


class FixedLengthEncoder(Protocol[T_contra]):
    """Turns one template into fixed-length binary codes for the coarse (FAISS) stage.

    `name` identifies the encoding and its parameters; a snapshot made with another name is
    refused, because its codes would be meaningless to this encoder. `code_bytes` is the code
    length (a multiple of 8 for FAISS binary indexes).
    """

    @property
    def name(self) -> str: ...

    @property
    def code_bytes(self) -> int: ...

    def encode(self, template: T_contra) -> NDArray[np.uint8]:
        """Codes as uint8, shape `(code_bytes,)` for one code or `(m, code_bytes)` for m.

        Codes should be balanced (about half the bits set): a code's votes are weighted by
        how much closer than `bits / 2` (an unrelated code's distance) it lies.
        """
        ...


class ScoreCalibration(Protocol):
    """Maps a comparator score to the false match rate of a threshold at that score."""

    def fmr(self, score: float) -> float: ...


class TemplateCodec(Protocol[T]):
    """Serialises templates into snapshots (the modality's compact storage format)."""

    def to_bytes(self, template: T) -> bytes: ...

    def from_bytes(self, data: bytes) -> T: ...


@dataclass(frozen=True, slots=True)
class Enrolment(Generic[T]):
    """One person as the index holds them: their home region and one template per sample.

    `samples` maps a sample position to its template: ISO finger positions for fingerprints
    (2 = right index, 7 = left index), 0/1 for right/left iris.
    """

    person_id: int
    region: RegionCode
    samples: Mapping[int, T]


@dataclass(frozen=True, slots=True)
class IndexEvent(Generic[T]):
    """One change from the database's event table: upsert (`enrolment` set) or removal."""

    event_id: int
    person_id: int
    enrolment: Enrolment[T] | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    """One person returned by a search, with what a decision needs.

    `fmr` is the calibrated false match rate of the fused score; `fpir` the false positive
    identification rate a threshold at this score would have over the gallery searched.
    """

    person_id: int
    region: RegionCode
    score: float
    fmr: float
    fpir: float
    sample_scores: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Candidates best first, and the context that gives their FPIR meaning.

    `unsearched` names the regions some of whose persons were not searched (a part of a
    split gallery that did not answer in time): an empty answer then means "not known", never
    "nobody", and callers must treat it so.
    """

    candidates: tuple[Candidate, ...]
    gallery_size: int
    scope: RegionCode | None
    widened: bool
    shortlist_size: int
    unsearched: tuple[RegionCode, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every enrolled person the search was meant to cover was searched."""
        return not self.unsearched
