"""`satupintu-bench compare`: 1:1 comparisons per second on one core, precomputed templates.

Templates are prepared first (not timed per comparison; reported separately as
`prepare_ms`), then every probe is compared with every gallery template in one process
pinned to one core. Two template sources: the synthetic template-level generator (always;
its flat impressions carry 30–60 minutiae, like a good extractor on a 500 dpi capture) and,
with `--path`, the images or records of a labelled folder run through our extractor.
Another process using the core at the same time makes the figures pessimistic.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.output import results_dir
from matcher.evaluation.fingerprint import FingerprintModality
from matcher.evaluation.modality import FailureToEnrol
from matcher.fingerprint.compare import PreparedTemplate, compare_prepared, prepare
from matcher.synthetic.minutiae import impression, master

console = Console()


def _pin(core: int) -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no affinity support)"


def measure(templates: list[PreparedTemplate], seconds: float) -> dict[str, Any]:
    """All-against-all comparisons until `seconds` of CPU time have passed (at least once)."""
    compare_prepared(templates[0], templates[-1])  # compile outside the timing
    n = len(templates)
    done = 0
    started_cpu, started_wall = time.process_time(), time.perf_counter()
    while True:
        for a in templates:
            for b in templates:
                compare_prepared(a, b)
        done += n * n
        if time.process_time() - started_cpu >= seconds:
            break
    cpu = time.process_time() - started_cpu
    wall = time.perf_counter() - started_wall
    sizes = [len(t) for t in templates]
    return {
        "templates": n,
        "comparisons": done,
        "compare_per_second": round(done / cpu),
        "compare_per_second_wall": round(done / wall),
        "us_per_compare": round(1e6 * cpu / done, 2),
        "cylinders_mean": round(float(np.mean(sizes)), 1),
        "bytes_per_template_mean": round(float(np.mean([t.nbytes for t in templates]))),
    }


def _synthetic(count: int) -> tuple[list[PreparedTemplate], float]:
    sets = [impression(master(50_000 + i), seed=1) for i in range(count)]
    prepare(sets[0])  # load the compiled kernels outside the timing
    started = time.process_time()
    templates = [prepare(s) for s in sets]
    return templates, 1000 * (time.process_time() - started) / count


def _folder(path: Path, count: int) -> tuple[list[PreparedTemplate], float]:
    modality = FingerprintModality()
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in modality.suffixes)[:count]
    templates = []
    for p in files:
        try:
            templates.append(modality.load(p))
        except FailureToEnrol:
            continue
    return templates, float("nan")


def compare_command(
    path: Annotated[
        Path | None, typer.Option(help="Also measure on the templates of this labelled folder.")
    ] = None,
    templates: Annotated[int, typer.Option(min=2, help="Templates per source.")] = 100,
    seconds: Annotated[float, typer.Option(min=0.1, help="CPU seconds per measurement.")] = 3.0,
    core: Annotated[int, typer.Option(help="CPU core to pin to.")] = 0,
    json_path: Annotated[Path | None, typer.Option("--json", help="Write the JSON here.")] = None,
) -> None:
    """Template comparisons per second on one core (target ≥ 20,000)."""
    pinning = _pin(core)
    rows: list[dict[str, Any]] = []
    synth, prep_ms = _synthetic(templates)
    rows.append({"source": "synthetic", "prepare_ms": round(prep_ms, 2), **measure(synth, seconds)})
    if path is not None:
        real, _ = _folder(path, templates)
        if len(real) >= 2:
            rows.append({"source": str(path), **measure(real, seconds)})
    result = {
        "compare_per_second": min(r["compare_per_second"] for r in rows),
        "target": 20_000,
        "timing": pinning,
        "rows": rows,
    }
    table = Table(title=f"1:1 comparisons on one core ({pinning})")
    for col in ("source", "templates", "cylinders", "µs/compare", "compares/s (CPU)", "wall"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for r in rows:
        table.add_row(
            r["source"], str(r["templates"]), str(r["cylinders_mean"]), str(r["us_per_compare"]),
            f"{r['compare_per_second']:,}", f"{r['compare_per_second_wall']:,}",
        )  # fmt: skip
    console.print(table)
    out_dir = results_dir()
    text = json.dumps(result, indent=2)
    (out_dir / "compare.json").write_text(text)
    if json_path is not None:
        json_path.write_text(text)
