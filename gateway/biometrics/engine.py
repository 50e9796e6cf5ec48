"""The gateway's one view of the matcher: template storage, preparation, scores and FMRs.

Why a facade: enrollment, verification, the index applier and the demo all need the same
few operations per modality (serialise a template for its envelope, prepare it for fast
comparison, compare, turn a score into a calibrated false match rate, fuse several), and
the prepared forms of enrolled templates are worth caching across requests: decrypting an
envelope and building MCC cylinders costs milliseconds, a comparison microseconds.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from gateway.biometrics.captures import Modality, Sample
from gateway.errors import Unavailable
from matcher.fingerprint import compare as finger_compare
from matcher.fingerprint import storage as finger_storage
from matcher.fingerprint.calibration import Calibration, calibration_for, default_calibration
from matcher.fingerprint.extract import EXTRACTOR as CLASSICAL_EXTRACTOR
from matcher.fingerprint.fusion import fuse_fmrs
from matcher.fingerprint.types import MinutiaSet
from matcher.iris import storage as iris_storage
from matcher.iris.calibration import default_iris_calibration
from matcher.iris.modality import similarity as iris_similarity
from matcher.iris.types import IrisCode

# Iris codes carry no extractor name: the storage version names the encoding that made them.
IRIS_EXTRACTOR = "satupintu-iris"

K = TypeVar("K")
V = TypeVar("V")


class ModalityUnavailable(Unavailable):
    code = "modality_unavailable"


class LruCache(Generic[K, V]):
    """A small thread-safe LRU map (prepared templates by template id)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class EnrolledView:
    """An enrolled template ready for comparison, and the extractor that made it."""

    prepared: Any
    extractor: str


@dataclass(frozen=True)
class Comparison:
    """One probe sample against one reference: similarity and its calibrated FMR."""

    label: str
    score: float
    fmr: float


@dataclass(frozen=True)
class Fused:
    """Several comparisons fused into one FMR; `score` is −log10(FMR), higher = surer."""

    score: float
    fmr: float
    comparisons: tuple[Comparison, ...]


class BiometricEngine:
    """Per-modality template operations with one cache of prepared enrolled templates."""

    def __init__(
        self,
        *,
        cache_size: int = 20_000,
        finger_calibration: Calibration | None = None,
    ) -> None:
        self.finger_calibration = finger_calibration or default_calibration()
        self.classical_calibration = calibration_for(CLASSICAL_EXTRACTOR)
        self.iris_calibration = default_iris_calibration()
        self.finger_comparator = finger_compare.DEFAULT_COMPARATOR
        self.cache: LruCache[int, EnrolledView] = LruCache(cache_size)
        self.card_cache: LruCache[bytes, Any] = LruCache(cache_size)

    def warm_up(self) -> None:
        """Prepare and compare one synthetic finger, so numba's kernels are compiled (or loaded
        from its cache) at start-up instead of inside the first verifications' latency."""
        rng = np.random.default_rng(0)
        n = 30
        template = MinutiaSet(
            x=rng.uniform(40, 360, n).astype(np.float32),
            y=rng.uniform(40, 460, n).astype(np.float32),
            direction=rng.uniform(0, 2 * math.pi, n).astype(np.float32),
            kind=np.ones(n, dtype=np.uint8),
            quality=np.full(n, 60, dtype=np.uint8),
            width=400,
            height=500,
        )
        prepared = self.prepare("finger", template)
        self.score("finger", prepared, prepared)

    # ------------------------------------------------------------ templates

    def to_bytes(self, modality: Modality, template: MinutiaSet | IrisCode) -> bytes:
        if modality == "finger":
            assert isinstance(template, MinutiaSet)
            return finger_storage.dumps([template])
        assert isinstance(template, IrisCode)
        return iris_storage.to_bytes(template)

    def extractor_of(self, modality: Modality, template: MinutiaSet | IrisCode) -> str:
        """Name and version of what made `template`, recorded beside it when it is stored."""
        if modality == "finger":
            assert isinstance(template, MinutiaSet)
            return template.extractor
        return f"{IRIS_EXTRACTOR}/{iris_storage.VERSION}"

    def from_bytes(self, modality: Modality, data: bytes) -> MinutiaSet | IrisCode:
        if modality == "finger":
            return finger_storage.loads(data)[0]
        return iris_storage.from_bytes(data)[0]

    def prepare(self, modality: Modality, template: MinutiaSet | IrisCode) -> Any:
        """The comparison-ready form (MCC cylinders for fingers; iris codes are ready)."""
        if modality == "finger":
            assert isinstance(template, MinutiaSet)
            return finger_compare.prepare(template)
        return template

    def prepared_probe(self, sample: Sample) -> Any:
        """A live sample's prepared form (made ahead by the caller, or now)."""
        if sample.prepared is not None:
            return sample.prepared
        return self.prepare(sample.modality, sample.template)

    def prepared_card(self, record: bytes, position: int, decode: Callable[[], MinutiaSet]) -> Any:
        """A card (e-KTP chip) view, decoded and prepared once: the chip's template never
        changes, so a person verifying again with the same card costs neither again.
        `decode` runs only on a miss, so its format errors reach the caller as before."""
        key = hashlib.sha256(record).digest() + bytes([position])
        cached = self.card_cache.get(key)
        if cached is None:
            cached = self.prepare("finger", decode())
            self.card_cache.put(key, cached)
        return cached

    def prepared_enrolled(
        self, template_id: int, modality: Modality, load: Callable[[], bytes]
    ) -> EnrolledView:
        """An enrolled template's prepared form, from the cache or decrypted and built once."""
        cached = self.cache.get(template_id)
        if cached is None:
            template = self.from_bytes(modality, load())
            cached = EnrolledView(
                self.prepare(modality, template), self.extractor_of(modality, template)
            )
            self.cache.put(template_id, cached)
        return cached

    # ------------------------------------------------------------ scoring

    def score(self, modality: Modality, probe: Any, reference: Any) -> float:
        if modality == "finger":
            return float(self.finger_comparator(probe, reference))
        return iris_similarity(probe, reference)

    def fmr(self, modality: Modality, score: float) -> float:
        if modality == "finger":
            return self.finger_calibration.fmr(score)
        return self.iris_calibration.fmr(score)

    def compare(self, modality: Modality, label: str, probe: Any, reference: Any) -> Comparison:
        score = self.score(modality, probe, reference)
        return Comparison(label=label, score=score, fmr=self.fmr(modality, score))

    def compare_enrolled(self, sample: Sample, enrolled: EnrolledView) -> Comparison:
        """`sample` against an enrolled template, like with like: a template made by the
        classical extractor alone meets the sample's classical minutiae under that
        extractor's calibration (mixing extractors costs genuine scores); any other template
        meets the sample's default minutiae."""
        if sample.classical is not None and enrolled.extractor == CLASSICAL_EXTRACTOR:
            probe = self.prepare("finger", sample.classical)
            score = self.score("finger", probe, enrolled.prepared)
            return Comparison(sample.label, score, self.classical_calibration.fmr(score))
        return self.compare(
            sample.modality, sample.label, self.prepared_probe(sample), enrolled.prepared
        )

    @staticmethod
    def fuse(comparisons: Sequence[Comparison]) -> Fused:
        """Fisher fusion of independent samples (fingers, eyes) into one calibrated FMR."""
        fmr = fuse_fmrs([c.fmr for c in comparisons])
        return Fused(score=-math.log10(fmr), fmr=fmr, comparisons=tuple(comparisons))
