"""Synthetic fingerprint databases in the FVC layout, with ground truth beside the images.

`{finger}_{impression}.png` in the folder (the identity is the part before the underscore,
as the accuracy harness expects) and `truth/{finger}_{impression}.json` holding the
impression's ground-truth minutiae, so extraction can be scored for precision and recall.
The truth lives in a sub-folder so a harness that reads every record in the folder never
mistakes it for a sample.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.impressions import ImageImpressionParams, impression_image
from matcher.synthetic.ridges import master_fingerprint

TRUTH_DIR = "truth"


@dataclass(frozen=True)
class FingerJob:
    """Everything one worker needs to write all impressions of one finger."""

    out: Path
    finger: int
    impressions: int
    seed: int
    params: ImageImpressionParams


def truth_to_json(minutiae: MinutiaSet, **meta: object) -> dict[str, object]:
    """Ground truth as JSON: positions in pixels, directions in degrees (ISO convention)."""
    return {
        **meta,
        "width": minutiae.width,
        "height": minutiae.height,
        "resolution_dpi": minutiae.resolution_dpi,
        "minutiae": [
            {
                "x": round(float(x), 2),
                "y": round(float(y), 2),
                "angle": round(float(np.rad2deg(d)), 2),
                "type": "ending" if k == 1 else "bifurcation",
            }
            for x, y, d, k in zip(
                minutiae.x, minutiae.y, minutiae.direction, minutiae.kind, strict=True
            )
        ],
    }


def load_truth(path: Path) -> MinutiaSet:
    """Read a `truth/*.json` file back as a `MinutiaSet`."""
    doc = json.loads(path.read_text())
    rows = doc["minutiae"]
    return MinutiaSet.from_arrays(
        [r["x"] for r in rows],
        [r["y"] for r in rows],
        np.deg2rad([r["angle"] for r in rows]),
        [1 if r["type"] == "ending" else 2 for r in rows],
        width=doc["width"],
        height=doc["height"],
        resolution_dpi=doc["resolution_dpi"],
    )


def write_finger(job: FingerJob) -> int:
    """Render one master and its impressions; returns the number of images written."""
    master = master_fingerprint(job.seed + job.finger)
    for i in range(1, job.impressions + 1):
        imp = impression_image(master, i, job.params)
        name = f"{job.finger}_{i}"
        cv2.imwrite(str(job.out / f"{name}.png"), imp.image)
        doc = truth_to_json(
            imp.minutiae,
            finger=job.finger,
            impression=i,
            fingerprint_class=master.model.kind.value,
            pressure=round(imp.pressure, 3),
        )
        (job.out / TRUTH_DIR / f"{name}.json").write_text(json.dumps(doc))
    return job.impressions


def write_database(
    out: Path,
    *,
    fingers: int,
    impressions: int,
    seed: int = 0,
    first_finger: int = 1,
    workers: int = 1,
    params: ImageImpressionParams | None = None,
    on_finger: Callable[[int], None] | None = None,
) -> int:
    """Write `fingers` × `impressions` images; `on_finger` is told after each finger.

    Finger f is master `seed + f`, so databases with different ranges of fingers never share
    identities by accident and the same command always writes the same images.
    """
    (out / TRUTH_DIR).mkdir(parents=True, exist_ok=True)
    jobs = [
        FingerJob(out, f, impressions, seed, params or ImageImpressionParams())
        for f in range(first_finger, first_finger + fingers)
    ]
    total = 0
    for written in _run(jobs, workers):
        total += written
        if on_finger is not None:
            on_finger(written)
    return total


def _run(jobs: list[FingerJob], workers: int) -> Iterator[int]:
    """Jobs in order, in worker processes when more than one is asked for."""
    if workers <= 1:
        yield from map(write_finger, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(write_finger, jobs)
