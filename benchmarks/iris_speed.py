"""`satupintu-bench iris-speed PATH`: iris extraction time per image and comparison throughput.

Extraction (decode, segmentation, normalisation, encoding, quality) is timed per image on one
core (the process is pinned to a single CPU where the OS allows), over a folder of eye images
or `synthetic:N` rendered eyes. Comparison throughput is the exact masked Hamming distance on
packed words, per core: one alignment (the unit of Daugman's classic ~1M comparisons per
second per core) and the full comparison the matcher really performs (best of ±16 shifts,
corrected by the codes' bit-correlation factors, here computed once for the gallery); the
factors computed per second (a comparison with a stored row computes the row's); and the
unmasked coarse comparisons of the 1:N shortlist. JSON keys: `images`, `median_ms`,
`p95_ms`, `cpu_median_ms`, `cpu_p95_ms` (the process's CPU time per image: on a machine other
jobs share, wall time also counts the waits for the core), `failures`,
`comparisons_per_s_single_shift`, `comparisons_per_s_all_shifts`, `correlation_factors_per_s`,
`comparisons_per_s_coarse`.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.output import results_dir
from matcher.iris.compare import distances_to_many, gallery_correlation_factors
from matcher.iris.index import IrisCodeEncoder, coarse_codes
from matcher.iris.params import IrisParams
from matcher.iris.pipeline import extract_iris
from matcher.iris.types import IrisCode, IrisError

SYNTHETIC = re.compile(r"^synthetic:(\d+)$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm"}

console = Console()


def _inputs(path: str) -> tuple[str, list[bytes]]:
    match = SYNTHETIC.match(path)
    if match:
        from matcher.synthetic.iris import encode_png, render_eye

        n = int(match.group(1))
        return f"synthetic_{n}", [encode_png(render_eye(i // 2, i % 2).image) for i in range(n)]
    folder = Path(path)
    if not folder.is_dir():
        raise typer.BadParameter(f"{path} is neither a folder nor synthetic:N", param_hint="PATH")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise typer.BadParameter(f"no eye images in {path}", param_hint="PATH")
    return folder.name, [p.read_bytes() for p in files]


def comparison_throughput(codes: list[IrisCode], gallery: int = 20_000) -> dict[str, float]:
    """Comparisons per second per core against a gallery built from the measured codes."""
    reps = -(-gallery // len(codes))
    code_rows = np.tile(np.stack([c.code for c in codes]), (reps, 1))[:gallery]
    mask_rows = np.tile(np.stack([c.mask for c in codes]), (reps, 1))[:gallery]
    out: dict[str, float] = {}
    # One alignment without the correlation correction: the unit Daugman's figure counts.
    one = IrisParams(max_shift=0, correlation_exponent=0.0)
    factors = gallery_correlation_factors(code_rows, mask_rows)
    for label, params in (("single_shift", one), ("all_shifts", IrisParams())):
        distances_to_many(codes[0], code_rows, mask_rows, params, factors)
        started = time.perf_counter()
        for _ in range(3):
            distances_to_many(codes[0], code_rows, mask_rows, params, factors)
        out[f"comparisons_per_s_{label}"] = 3 * gallery / (time.perf_counter() - started)
    started = time.perf_counter()
    gallery_correlation_factors(code_rows, mask_rows)
    out["correlation_factors_per_s"] = gallery / (time.perf_counter() - started)
    out["comparisons_per_s_coarse"] = coarse_throughput(code_rows, codes[0])
    return out


def coarse_throughput(code_rows: NDArray[np.uint8], probe: IrisCode, rows: int = 200_000) -> float:
    """Unmasked Hamming comparisons per second per core of the 1:N coarse stage (FAISS,
    768-bit coarse codes, the probe's 17 shifted copies in one search)."""
    import faiss

    faiss.omp_set_num_threads(1)
    encoder = IrisCodeEncoder()
    index = faiss.IndexBinaryFlat(encoder.code_bytes * 8)
    gallery = coarse_codes(code_rows)
    index.add(np.tile(gallery, (-(-rows // len(gallery)), 1))[:rows])
    queries = encoder.encode_probe(probe)
    index.search(queries, 20)
    started = time.perf_counter()
    for _ in range(3):
        index.search(queries, 20)
    return 3 * rows * len(queries) / (time.perf_counter() - started)


def iris_speed_command(
    path: Annotated[str, typer.Argument(help="Folder of eye images, or synthetic:N.")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
) -> None:
    """Time iris extraction per image on one core and the comparison throughput."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    name, blobs = _inputs(path)
    extract_iris(blobs[0]) if blobs else None  # warm caches (filters, stubs)
    times: list[float] = []
    cpu_times: list[float] = []
    codes: list[IrisCode] = []
    failures: dict[str, int] = {}
    with Progress(console=console) as bar:
        task = bar.add_task(f"extracting {len(blobs)} eyes", total=len(blobs))
        for data in blobs:
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                codes.append(extract_iris(data).iris_code)
            except IrisError as exc:
                failures[exc.code] = failures.get(exc.code, 0) + 1
            times.append((time.perf_counter() - started) * 1e3)
            cpu_times.append((time.process_time() - cpu_started) * 1e3)
            bar.advance(task)
    ms = np.array(times)
    result: dict[str, Any] = {
        "modality": "iris",
        "dataset": name,
        "images": len(blobs),
        "median_ms": float(np.median(ms)),
        "p95_ms": float(np.percentile(ms, 95)),
        "cpu_median_ms": float(np.median(cpu_times)),
        "cpu_p95_ms": float(np.percentile(cpu_times, 95)),
        "failures": sum(failures.values()),
        "failure_codes": failures,
        "cores": 1,
        **(comparison_throughput(codes) if codes else {}),
    }
    table = Table(title=f"iris extraction and comparison speed: {name}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:,.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    text = json.dumps(result, indent=2) + "\n"
    (results_dir() / f"iris_speed_{name}.json").write_text(text)
    if json_out is not None:
        json_out.write_text(text)
