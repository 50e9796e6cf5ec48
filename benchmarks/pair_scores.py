"""`satupintu-bench pair-scores PATH…`: every pair's score with what each template looked like.

Extraction is the slow part of an accuracy run (minutes a set); the score of a pair and the
calibration that judges it take milliseconds. So each image is extracted once by the default
extractor, and one NumPy archive keeps, for every template, its database, identity, image
size, image quality and the fused and Gabor-only minutiae (positions, directions, kinds,
qualities), and for every pair (genuine and all-pairs impostor) both indices and the default
score. Calibration ideas (margins, conditioning on the pair's minutiae counts) are then
measured offline on the archive, leave one set out, without extracting again.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress

from benchmarks import resolution
from benchmarks.accuracy import databases_of
from matcher.evaluation.fingerprint import IMAGE_SUFFIXES, MIN_CYLINDERS
from matcher.fingerprint import fused
from matcher.fingerprint.compare import PreparedTemplate, compare_prepared, prepare
from matcher.fingerprint.image import FingerprintImageError
from matcher.fingerprint.types import MinutiaSet

console = Console()
FAILED = float("-inf")
_MINUTIA_FIELDS = ("x", "y", "direction", "kind", "quality")


def _flatten(sets: list[MinutiaSet | None], prefix: str) -> dict[str, np.ndarray]:
    """Ragged minutiae as flat arrays plus per-template offsets (`{prefix}_start`)."""
    counts = np.array([len(s) if s is not None else 0 for s in sets], dtype=np.int64)
    out = {f"{prefix}_start": np.concatenate([[0], np.cumsum(counts)])}
    for name in _MINUTIA_FIELDS:
        parts = [getattr(s, name) for s in sets if s is not None]
        out[f"{prefix}_{name}"] = np.concatenate(parts) if parts else np.zeros(0)
    return out


def pair_scores_command(
    paths: Annotated[list[str], typer.Argument(help="Folders of labelled image databases.")],
    archive: Annotated[Path, typer.Option(help="The archive written (.npz).")] = Path(
        "/tmp/satupintu-pair-scores.npz"
    ),
    dpi: resolution.DpiOption = None,
    dpi_file: resolution.DpiFileOption = None,
) -> None:
    """Extract every image once; save each pair's score and each template's covariates."""
    resolutions = resolution.parse(dpi or [], dpi_file)
    databases = databases_of(paths, IMAGE_SUFFIXES, Path("."))
    rows: dict[str, list[object]] = {
        k: [] for k in ("database", "filename", "identity", "width", "height", "image_quality")
    }
    fused_sets: list[MinutiaSet | None] = []
    gabor_sets: list[MinutiaSet | None] = []
    prepared: list[PreparedTemplate | None] = []
    pair_i: list[int] = []
    pair_j: list[int] = []
    genuine: list[bool] = []
    with Progress(console=console) as progress:
        for db in databases:
            dpi_of_db = resolutions.of(db.name, db.root)
            task = progress.add_task(db.name, total=len(db.samples))
            first = len(prepared)
            for sample in db.samples:
                try:
                    analysis, gabor = fused.analyse(
                        sample.path.read_bytes(), resolution_dpi=dpi_of_db
                    )
                    ms: MinutiaSet | None = analysis.minutiae
                    template: PreparedTemplate | None = prepare(analysis.minutiae)
                except FingerprintImageError:
                    ms, gabor, template = None, None, None
                if template is not None and len(template) < MIN_CYLINDERS:
                    template = None
                rows["database"].append(db.name)
                rows["filename"].append(sample.path.name)
                rows["identity"].append(sample.identity)
                rows["width"].append(ms.width if ms else 0)
                rows["height"].append(ms.height if ms else 0)
                rows["image_quality"].append(ms.image_quality if ms else 0)
                fused_sets.append(ms)
                gabor_sets.append(gabor)
                prepared.append(template)
                progress.advance(task)
            for i, j in itertools.combinations(range(first, len(prepared)), 2):
                pair_i.append(i)
                pair_j.append(j)
                genuine.append(rows["identity"][i] == rows["identity"][j])
    scores = np.array(
        [
            compare_prepared(a, b) if a is not None and b is not None else FAILED
            for a, b in ((prepared[i], prepared[j]) for i, j in zip(pair_i, pair_j, strict=True))
        ]
    )
    archive.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        **{k: np.asarray(v) for k, v in rows.items()},
        "cylinders": np.array([len(t) if t is not None else 0 for t in prepared]),
        **_flatten(fused_sets, "fused"),
        **_flatten(gabor_sets, "gabor"),
        "pair_i": np.array(pair_i),
        "pair_j": np.array(pair_j),
        "genuine": np.array(genuine),
        "score": scores,
    }
    np.savez_compressed(archive, allow_pickle=False, **arrays)
    console.print(f"{len(prepared)} templates, {len(scores)} pairs: {archive}")
