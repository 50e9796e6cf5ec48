"""`satupintu bench tune-extract PATH...`: extraction settings chosen leave-one-set-out.

Every candidate setting of the extractor (the shipped defaults and variations of the
parameters that depend on the sensor: foreground mask, orientation smoothing, Gabor
envelope and period, border margin, minutia budget) is measured on every database with the
same harness as `bench accuracy`. Then each database in turn is held out: the candidate with
the best mean score on the *other* databases is chosen and its figures on the held-out one
are reported beside the shipped defaults' figures there. A setting that only suits the
sensors it was chosen on shows up as a held-out loss. The score to minimise is the mean of
the all-pairs EER and the all-pairs FNMR at FMR 1e-3 (FMR1000): both the average error and
the error at the operating point a payout point uses.

Results: a JSON file (key `leave_one_out` with one row per held-out database, `candidates`
with every candidate's rows, `chosen_on_all` the candidate best on every database) and a
Markdown table under `benchmarks/results/`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks import resolution
from benchmarks.accuracy import databases_of, operating_points
from benchmarks.output import results_dir
from matcher.evaluation.dataset import Database, DatasetError
from matcher.evaluation.fingerprint import FingerprintModality
from matcher.evaluation.harness import evaluate
from matcher.fingerprint.calibration import calibration_for
from matcher.fingerprint.params import DEFAULT, ExtractionParams

console = Console()

# One parameter changed at a time around the shipped defaults, on both sides where both are
# plausible; each is a sensor-dependent choice (contrast, noise, contact area, ridge width).
CANDIDATES: dict[str, dict[str, Any]] = {
    "default": {},
    "mask band 0.15-0.4": {"mask_contrast_band": (0.15, 0.4)},
    "mask band 0.25-0.5": {"mask_contrast_band": (0.25, 0.5)},
    "mask coherence 0.5": {"mask_min_coherence": 0.5},
    "mask coherence 0.7": {"mask_min_coherence": 0.7},
    "mask erode 1": {"mask_erode_blocks": 1},
    "orientation smooth 1.0": {"orientation_smooth_blocks": 1.0},
    "orientation smooth 2.0": {"orientation_smooth_blocks": 2.0},
    "tensor sigma 5": {"tensor_sigma": 5.0},
    "tensor sigma 9": {"tensor_sigma": 9.0},
    "gabor sigma 0.40": {"gabor_sigma_periods": 0.40},
    "gabor sigma 0.50": {"gabor_sigma_periods": 0.50},
    "gabor period 0.80": {"gabor_period_levels": (0.80,)},
    "gabor period 0.90": {"gabor_period_levels": (0.90,)},
    "border 10 px": {"border_distance": 10.0},
    "border ray 30 px": {"border_ray": 30.0},
    "max minutiae 60": {"max_minutiae": 60},
    "max minutiae 150": {"max_minutiae": 150},
    "broken gap 12": {"broken_gap": 12.0},
    "broken gap 20": {"broken_gap": 20.0},
    "minutia quality 20": {"min_minutia_quality": 20},
    "minutia quality 35": {"min_minutia_quality": 35},
}

METRICS = ("eer", "eer_allpairs", "fmr1000_allpairs", "fnmr_at_fmr_1e-3", "fmr_measured_at_1e-3")


def objective(rows: Sequence[dict[str, float]]) -> float:
    """Mean of the all-pairs EER and the all-pairs FNMR at FMR 1e-3 over some databases."""
    return float(np.mean([(r["eer_allpairs"] + r["fmr1000_allpairs"]) / 2 for r in rows]))


def _measure(
    params: ExtractionParams,
    databases: Sequence[Database],
    dpis: dict[str, int | None],
    processes: int,
) -> dict[str, dict[str, float]]:
    threshold_of = calibration_for("gabor").threshold
    out: dict[str, dict[str, float]] = {}
    for db in databases:
        engine = FingerprintModality(resolution_dpi=dpis[db.name], params=params, extractor="gabor")
        result = evaluate(engine, db, processes=processes)
        row = {**result.row(), **operating_points(result, threshold_of)}
        out[db.name] = {k: round(float(row[k]), 6) for k in (*METRICS, "fte")}
    return out


def leave_one_out(
    measured: dict[str, dict[str, dict[str, float]]], names: Sequence[str]
) -> list[dict[str, Any]]:
    """Per held-out database: the candidate best on the others, and its held-out figures."""
    rows = []
    for held in names:
        others = [n for n in names if n != held]
        chosen = min(measured, key=lambda c: objective([measured[c][n] for n in others]))
        rows.append(
            {
                "held_out": held,
                "chosen": chosen,
                "tuned_objective": round(objective([measured[chosen][n] for n in others]), 6),
                "default_tuned_objective": round(
                    objective([measured["default"][n] for n in others]), 6
                ),
                "held_out_chosen": measured[chosen][held],
                "held_out_default": measured["default"][held],
            }
        )
    return rows


def _markdown(loso: Sequence[dict[str, Any]], chosen_on_all: str, paths: Sequence[str]) -> str:
    lines = [
        f"# Extraction settings chosen leave one set out ({' + '.join(paths)})",
        "",
        "For each held-out set the candidate with the lowest mean of (all-pairs EER + "
        "all-pairs FNMR at FMR 1e-3) / 2 on the other sets is chosen; figures on the held-out "
        "set for that candidate and for the shipped defaults.",
        "",
        "| held out | chosen on the others | EER all (chosen / default) "
        "| FMR1000 all (chosen / default) | FNMR@1e-3 calibrated (chosen / default) |",
        "|---|---|---|---|---|",
    ]
    for r in loso:
        c, d = r["held_out_chosen"], r["held_out_default"]
        lines.append(
            f"| {r['held_out']} | {r['chosen']} "
            f"| {c['eer_allpairs']:.2%} / {d['eer_allpairs']:.2%} "
            f"| {c['fmr1000_allpairs']:.2%} / {d['fmr1000_allpairs']:.2%} "
            f"| {c['fnmr_at_fmr_1e-3']:.2%} / {d['fnmr_at_fmr_1e-3']:.2%} |"
        )
    lines += ["", f"Best on every set: **{chosen_on_all}**.", ""]
    return "\n".join(lines)


def tune_extract_command(
    paths: Annotated[
        list[str], typer.Argument(help="Folders of databases (as for bench accuracy).")
    ],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
    dpi: resolution.DpiOption = None,
    dpi_file: resolution.DpiFileOption = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Measure only these candidates (and the default).")
    ] = None,
    processes: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
) -> None:
    """Choose extraction settings on some databases and report them on the held-out one."""
    resolutions = resolution.parse(dpi or [], dpi_file)
    unknown = set(only or []) - set(CANDIDATES)
    if unknown:
        raise typer.BadParameter(f"unknown candidates {sorted(unknown)}; see CANDIDATES")
    names = ["default", *(c for c in CANDIDATES if c != "default" and (not only or c in only))]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            databases = databases_of(paths, FingerprintModality().suffixes, Path(tmp))
        except DatasetError as exc:
            raise typer.BadParameter(str(exc)) from exc
        if len(databases) < 3:
            raise typer.BadParameter("leave one set out needs at least three databases")
        dpis = {db.name: resolutions.of(db.name, db.root) for db in databases}
        measured: dict[str, dict[str, dict[str, float]]] = {}
        with Progress(console=console) as progress:
            task = progress.add_task("candidates", total=len(names))
            for name in names:
                params = replace(DEFAULT, **CANDIDATES[name])
                measured[name] = _measure(params, databases, dpis, processes)
                progress.advance(task)
                progress.console.print(
                    f"{name}: objective {objective(list(measured[name].values())):.4f}"
                )
    db_names = [db.name for db in databases]
    loso = leave_one_out(measured, db_names)
    chosen_on_all = min(measured, key=lambda c: objective(list(measured[c].values())))
    result: dict[str, Any] = {
        "paths": list(paths),
        "databases": db_names,
        "resolutions": {k: v or 500 for k, v in dpis.items()},
        "objective": "mean over databases of (eer_allpairs + fmr1000_allpairs) / 2",
        "candidates": {
            name: {"overrides": {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in CANDIDATES[name].items()},
                   "objective_all": round(objective(list(measured[name].values())), 6),
                   "databases": measured[name]}
            for name in names
        },
        "leave_one_out": loso,
        "chosen_on_all": chosen_on_all,
    }  # fmt: skip
    table = Table(title="Extraction settings, leave one set out")
    for col in ("held out", "chosen", "EER all chosen", "EER all default", "FMR1000 chosen",
                "FMR1000 default"):  # fmt: skip
        table.add_column(col)
    for r in loso:
        c, d = r["held_out_chosen"], r["held_out_default"]
        table.add_row(
            r["held_out"],
            r["chosen"],
            f"{c['eer_allpairs']:.2%}",
            f"{d['eer_allpairs']:.2%}",
            f"{c['fmr1000_allpairs']:.2%}",
            f"{d['fmr1000_allpairs']:.2%}",
        )
    console.print(table)
    console.print(f"best on every database: {chosen_on_all}")
    out_dir = results_dir()
    text = json.dumps(result, indent=2)
    (out_dir / "tune_extract.json").write_text(text + "\n")
    (out_dir / "tune_extract.md").write_text(_markdown(loso, chosen_on_all, paths))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text + "\n")
