"""`satupintu-bench iris-tune PATH... --grid NAME=V1,V2`: iris parameters chosen leave one set out.

Every combination of the `--grid` values (fields of `IrisParams`) is run on every set: each
image extracted once per combination of extraction parameters, every pair compared once per
combination of comparison parameters (`COMPARISON_FIELDS` need no new extraction). Then, for
each set held out in turn, the combination with the lowest mean FNMR at FMR 1e-4 on the
OTHER sets (EER breaks ties) is chosen and its figures on the held-out set are reported next
to the held-out set's own best and the shipped defaults: what tuning on some sets buys, or
costs, on a set it never saw. Each combination also gets the leave-one-set-out calibration
check of `iris-report` (`held_out_calibration`: FMR measured on each set at a claimed 1e-4
of a calibration fitted on the others). JSON: `combinations` (figures of each on each set)
and `folds`.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import fields, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.iris_report import (
    CLAIMED_FMR,
    SetRun,
    database,
    held_out_folds,
    run_set,
    score_pairs,
)
from benchmarks.output import results_dir, write_json
from matcher.evaluation.metrics import equal_error_rate, error_curve, fnmr_at_fmr
from matcher.iris.params import IrisParams

# Parameters used only when two codes are compared: changing them needs no new extraction.
COMPARISON_FIELDS = frozenset(
    {
        "max_shift",
        "norm_bits",
        "min_compared_bits",
        "correlation_lag_angles",
        "correlation_lag_rings",
        "correlation_reference",
        "correlation_exponent",
    }
)

console = Console()


def parse_grid(specs: list[str]) -> dict[str, list[Any]]:
    """`NAME=V1,V2,...` → {NAME: [values typed as the IrisParams field]}."""
    types = {f.name: type(getattr(IrisParams(), f.name)) for f in fields(IrisParams)}
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        if name not in types or not values:
            raise typer.BadParameter(f"{spec!r} is not NAME=V1,V2 of an IrisParams field")
        grid[name] = [types[name](v) for v in values.split(",")]
    return grid


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (one empty combination for an empty grid)."""
    names = sorted(grid)
    products = itertools.product(*(grid[name] for name in names))
    return [dict(zip(names, values, strict=True)) for values in products]


def set_figures(run: SetRun) -> dict[str, float]:
    curve = error_curve(run.genuine, run.impostor)
    eer, _ = equal_error_rate(curve)
    return {
        "eer": eer,
        "fnmr_at_fmr_1e-4": fnmr_at_fmr(curve, CLAIMED_FMR),
        "fte": len(run.failures) / max(len(run.paths), 1),
    }


def calibration_folds(runs: list[SetRun]) -> dict[str, dict[str, Any]]:
    """Per held-out set, the FMR measured there at the threshold a calibration fitted on the
    other sets' impostors gives for the claimed FMR (`iris_report.held_out_folds`)."""
    return {
        f["held_out"]: {"measured_fmr": f["measured_fmr"], "within_2x": f["within_2x"]}
        for f in held_out_folds(runs)
    }


def choose(results: list[dict[str, Any]], sets: list[str]) -> dict[str, Any]:
    """The combination with the lowest mean FNMR at 1e-4 over `sets`, then the lowest EER."""

    def cost(r: dict[str, Any]) -> tuple[float, float]:
        per = [r["sets"][s] for s in sets]
        return (
            float(np.mean([p["fnmr_at_fmr_1e-4"] for p in per])),
            float(np.mean([p["eer"] for p in per])),
        )

    return min(results, key=cost)


def folds(results: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """For each held-out set: the choice made on the others and its figures there."""
    out = []
    default = next((r for r in results if r["is_default"]), None)
    for held in names:
        others = [n for n in names if n != held]
        chosen = choose(results, others)
        best_here = choose(results, [held])
        out.append(
            {
                "held_out": held,
                "tuned_on": others,
                "chosen": chosen["params"],
                "held_out_figures": chosen["sets"][held],
                "tuned_on_figures": {n: chosen["sets"][n] for n in others},
                "best_on_held_out": best_here["params"],
                "best_on_held_out_figures": best_here["sets"][held],
                "default_figures": default["sets"][held] if default else None,
            }
        )
    return out


def _cell(v: dict[str, float] | None) -> str:
    return f"{v['fnmr_at_fmr_1e-4']:.2%} / {v['eer']:.2%} / {v['fte']:.2%}" if v else "-"


def calibration_lines(results: list[dict[str, Any]], names: list[str]) -> list[str]:
    """Each combination's held-out calibration: measured FMR at a claimed 1e-4 per set."""
    lines = [
        "",
        "## Calibration held out",
        "",
        "Measured FMR on each set at the threshold for a claimed FMR of 1e-4 of a calibration "
        "fitted on the other sets' impostors (within 2× = between 5e-5 and 2e-4).",
        "",
        "| combination | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for r in results:
        cells = []
        for n in names:
            fold = r.get("held_out_calibration", {}).get(n)
            mark = "" if fold is None or fold["within_2x"] else " (no)"
            cells.append("-" if fold is None else f"{fold['measured_fmr']:.1e}{mark}")
        lines.append(f"| `{r['params']}` | " + " | ".join(cells) + " |")
    return lines


def markdown(fold_rows: list[dict[str, Any]]) -> str:
    """The folds as a Markdown table (FNMR at FMR 1e-4 / EER / FTE in each cell)."""
    lines = [
        "# Iris parameters chosen leave one set out",
        "",
        "Each cell: FNMR at FMR 1e-4 / EER / FTE on the held-out set. The combination is "
        "chosen by the lowest mean FNMR at FMR 1e-4 on the other sets (then EER).",
        "",
        "| held out | chosen on | chosen | on the held-out set | on the sets tuned on "
        "| the held-out set's own best | defaults |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in fold_rows:
        tuned = "; ".join(f"{n} {_cell(v)}" for n, v in f["tuned_on_figures"].items())
        lines.append(
            f"| {f['held_out']} | {' + '.join(f['tuned_on'])} | `{f['chosen']}` "
            f"| {_cell(f['held_out_figures'])} | {tuned} "
            f"| `{f['best_on_held_out']}` {_cell(f['best_on_held_out_figures'])} "
            f"| {_cell(f['default_figures'])} |"
        )
    return "\n".join(lines) + "\n"


def _table(fold_rows: list[dict[str, Any]]) -> Table:
    table = Table(title="iris parameters chosen leave one set out (FNMR at FMR 1e-4, EER)")
    for col in ("held out", "chosen on the others", "held out", "its own best", "defaults"):
        table.add_column(col)
    for f in fold_rows:
        cells = [_cell(f[k]) for k in ("held_out_figures", "best_on_held_out_figures")]
        cells.append(_cell(f["default_figures"]))
        table.add_row(f["held_out"], str(f["chosen"]), *cells)
    return table


def iris_tune_command(
    paths: Annotated[list[Path], typer.Argument(help="Labelled folders of eye images.")],
    grid_specs: Annotated[
        list[str], typer.Option("--grid", help="NAME=V1,V2: IrisParams values to try.")
    ],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
) -> None:
    """Choose iris parameters on all sets but one and report them on the one left out."""
    grid = parse_grid(grid_specs)
    databases = [database(p) for p in paths]
    if len(databases) < 2:
        raise typer.BadParameter("leave one set out needs at least two sets", param_hint="PATH")
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    defaults = IrisParams()
    extraction_grid = {k: v for k, v in grid.items() if k not in COMPARISON_FIELDS}
    comparison_grid = {k: v for k, v in grid.items() if k in COMPARISON_FIELDS}
    comparison_combos = combinations(comparison_grid)
    rows: dict[str, dict[str, Any]] = {}
    scored_runs: dict[str, list[SetRun]] = {}
    with Progress(console=console) as progress:
        # One extraction per set and combination of extraction parameters, then every
        # comparison combination on its templates before they are dropped.
        for extraction in combinations(extraction_grid):
            for db in databases:
                run = run_set(db, progress, replace(defaults, **extraction))
                for comparison in comparison_combos:
                    combo = {**extraction, **comparison}
                    params = replace(defaults, **combo)
                    if comparison:
                        genuine, impostor, _ = score_pairs(
                            run.templates, run.eye, progress, db.name, params
                        )
                        scored = replace(run, genuine=genuine, impostor=impostor)
                    else:
                        scored = run
                    row = rows.setdefault(
                        repr(sorted(combo.items())),
                        {"params": combo, "is_default": params == defaults, "sets": {}},
                    )
                    row["sets"][db.name] = set_figures(scored)
                    scored_runs.setdefault(repr(sorted(combo.items())), []).append(scored)
                    console.print(db.name, combo, _cell(row["sets"][db.name]))
    for key, runs in scored_runs.items():
        rows[key]["held_out_calibration"] = calibration_folds(runs)
    results = list(rows.values())
    fold_rows = folds(results, [db.name for db in databases])
    data = {"grid": grid, "combinations": results, "folds": fold_rows}
    write_json("iris_tune.json", data, json_path)
    names = [db.name for db in databases]
    text = markdown(fold_rows) + "\n".join(calibration_lines(results, names)) + "\n"
    (results_dir() / "iris_tune.md").write_text(text)
    console.print(_table(fold_rows))
