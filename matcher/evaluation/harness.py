"""Run a modality over labelled databases: load every sample once, compare the protocol's
pairs, and compute the error rates.

Loading (image → template) is the slow part and runs in a process pool; comparisons run in
the same pool on templates inherited by the forked workers, so nothing large is pickled twice.
A sample that fails to enrol still takes part: every comparison involving it scores −∞ (a
certain non-match), as FVC counts them, and the failure-to-enrol rate is reported apart.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.evaluation.dataset import Database
from matcher.evaluation.metrics import ErrorRates, decidability, error_rates
from matcher.evaluation.modality import FailureToEnrol, Modality
from matcher.evaluation.protocols import (
    Pair,
    all_impostor_pairs,
    fvc_impostor_pairs,
    genuine_pairs,
)

Progress = Callable[[str, int], None]  # (stage, items done since the last call)

FAILED = float("-inf")


@dataclass
class DatabaseResult:
    """Scores and error rates of one modality on one database."""

    name: str
    modality: str
    samples: int
    failures: dict[str, str]  # file name -> reason
    genuine: NDArray[np.float64]
    impostor_fvc: NDArray[np.float64]
    impostor_all: NDArray[np.float64]
    fvc: ErrorRates
    allpairs: ErrorRates
    load_seconds: float
    compare_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fte(self) -> float:
        return len(self.failures) / self.samples if self.samples else 0.0

    def row(self) -> dict[str, Any]:
        """The figures the reports print, as fractions and counts."""
        return {
            "database": self.name,
            "modality": self.modality,
            "eer": self.fvc.eer,
            "fmr100": self.fvc.fmr100,
            "fmr1000": self.fvc.fmr1000,
            "zerofmr": self.fvc.zerofmr,
            "eer_allpairs": self.allpairs.eer,
            "fmr100_allpairs": self.allpairs.fmr100,
            "fmr1000_allpairs": self.allpairs.fmr1000,
            "zerofmr_allpairs": self.allpairs.zerofmr,
            "fte": self.fte,
            "samples": self.samples,
            "genuine": self.fvc.genuine,
            "impostor": self.fvc.impostor,
            "impostor_allpairs": self.allpairs.impostor,
            "load_ms_per_sample": 1000.0 * self.load_seconds / max(self.samples, 1),
            **self.extra,
        }


# Worker state, set before the pool forks so workers inherit it instead of unpickling it.
_MODALITY: Modality | None = None
_TEMPLATES: list[Any] = []


def _load_one(path: Any) -> tuple[Any, str | None]:
    assert _MODALITY is not None
    try:
        return _MODALITY.load(path), None
    except FailureToEnrol as exc:
        return None, f"{exc.code}: {exc}"
    except Exception as exc:  # any crash on one sample is that sample's failure to enrol
        return None, f"error: {type(exc).__name__}: {exc}"


def _compare_chunk(pairs: Sequence[Pair]) -> list[float]:
    assert _MODALITY is not None
    out = []
    for i, j in pairs:
        a, b = _TEMPLATES[i], _TEMPLATES[j]
        out.append(FAILED if a is None or b is None else float(_MODALITY.compare(a, b)))
    return out


def _chunks(items: Sequence[Pair], size: int) -> list[Sequence[Pair]]:
    return [items[k : k + size] for k in range(0, len(items), size)]


def evaluate(
    modality: Modality,
    db: Database,
    *,
    processes: int = 2,
    progress: Progress | None = None,
) -> DatabaseResult:
    """Load `db` with `modality` and score the FVC and all-pairs protocols."""
    global _MODALITY, _TEMPLATES
    tick = progress or (lambda stage, n: None)
    samples = db.samples
    _MODALITY, _TEMPLATES = modality, []
    ctx = mp.get_context("fork")
    started = time.perf_counter()
    loaded: list[tuple[Any, str | None]] = []
    if processes > 1:
        with ctx.Pool(processes) as pool:
            for item in pool.imap(_load_one, [s.path for s in samples], chunksize=2):
                loaded.append(item)
                tick("load", 1)
    else:
        for s in samples:
            loaded.append(_load_one(s.path))
            tick("load", 1)
    load_seconds = time.perf_counter() - started
    _TEMPLATES = [template for template, _ in loaded]
    failures = {
        s.path.name: reason for s, (_, reason) in zip(samples, loaded, strict=True) if reason
    }

    genuine = genuine_pairs(db)
    impostor_all = all_impostor_pairs(db)
    pairs = genuine + impostor_all
    started = time.perf_counter()
    scores: list[float] = []
    chunks = _chunks(pairs, 500)
    if processes > 1 and len(pairs) > 2000:
        with ctx.Pool(processes) as pool:
            for chunk, got in zip(chunks, pool.imap(_compare_chunk, chunks), strict=True):
                scores.extend(got)
                tick("compare", len(chunk))
    else:
        for chunk in chunks:
            scores.extend(_compare_chunk(chunk))
            tick("compare", len(chunk))
    compare_seconds = time.perf_counter() - started
    _TEMPLATES = []

    score_of = dict(zip(pairs, scores, strict=True))
    g = np.array(scores[: len(genuine)], dtype=np.float64)
    ia = np.array(scores[len(genuine) :], dtype=np.float64)
    ifvc = np.array([score_of[p] for p in fvc_impostor_pairs(db)], dtype=np.float64)
    return DatabaseResult(
        name=db.name,
        modality=modality.name,
        samples=len(samples),
        failures=failures,
        genuine=g,
        impostor_fvc=ifvc,
        impostor_all=ia,
        fvc=error_rates(g, ifvc),
        allpairs=error_rates(g, ia),
        load_seconds=load_seconds,
        compare_seconds=compare_seconds,
        extra={"decidability_allpairs": decidability(g, ia)},
    )


def pairs_to_compare(db: Database) -> int:
    """How many comparisons `evaluate` makes on `db` (every pair, for progress bars)."""
    n = len(db.samples)
    return n * (n - 1) // 2


def average(results: Sequence[DatabaseResult]) -> dict[str, Any]:
    """Mean of each rate over databases (how FVC reports an average), counts summed."""
    rows = [r.row() for r in results]
    out: dict[str, Any] = {"database": "average", "modality": rows[0]["modality"]}
    for key, value in rows[0].items():
        if key in ("database", "modality"):
            continue
        values = [row[key] for row in rows]
        if key in ("samples", "genuine", "impostor", "impostor_allpairs"):
            out[key] = int(sum(values))
        elif isinstance(value, (int, float)):
            out[key] = float(np.mean(values))
    out["eer_max"] = float(max(row["eer"] for row in rows))
    return out
