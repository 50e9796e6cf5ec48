"""`satupintu-bench calibration-margin ARCHIVE`: the calibration margin, leave one set out.

The shipped fingerprint calibration is fitted on synthetic impostors and multiplies every
FMR it reports by a margin (`fmr_factor`, see `matcher.fingerprint.synthetic_calibration`).
Its promise: on every sensor, the FMR measured at a claimed 1e-3 or 1e-4 is at most twice
the claim. This benchmark reads the per-pair scores of `satupintu-bench pair-scores` (no
extraction) and shows

- leave one set out: the smallest margin keeping the promise on every *other* set
  (`smallest_factor`), and what the held-out set measures with it;
- the margin chosen on all sets, and the shipped calibration's figures on each set and
  pooled: measured FMR (and how many impostors that is) at each claim, and the FNMR at the
  claimed 1e-3 threshold.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.output import write_json
from matcher.fingerprint.calibration import Calibration, default_calibration, smallest_factor

console = Console()
TARGETS = {"1e-3": 1e-3, "1e-4": 1e-4}
WITHIN = 2.0
Scores = dict[str, tuple[np.ndarray, np.ndarray]]  # set -> (genuine, all-pairs impostor)


def scores_by_set(archive: Path) -> Scores:
    """Genuine and impostor scores of each database in a `pair-scores` archive."""
    with np.load(archive) as data:
        database = data["database"][data["pair_i"]]
        genuine, score = data["genuine"], data["score"]
    return {
        name: (score[(database == name) & genuine], score[(database == name) & ~genuine])
        for name in dict.fromkeys(database.tolist())
    }


def figures(cal: Calibration, genuine: np.ndarray, impostor: np.ndarray) -> dict[str, Any]:
    """Measured FMR (rate, count, ratio to the claim) and FNMR at each claimed FMR."""
    out: dict[str, Any] = {"impostors": len(impostor), "genuine": len(genuine)}
    for key, target in TARGETS.items():
        threshold = cal.threshold(target)
        above = int(np.sum(impostor >= threshold))
        out[f"threshold_{key}"] = threshold
        out[f"fmr_measured_at_{key}"] = above / len(impostor)
        out[f"impostors_above_{key}"] = above
        out[f"fmr_ratio_{key}"] = above / len(impostor) / target
        out[f"fnmr_at_fmr_{key}"] = float(np.mean(genuine < threshold))
    out["kept"] = all(out[f"fmr_ratio_{k}"] <= WITHIN for k in TARGETS)
    return out


def margin_report(per_set: Scores, base: Calibration) -> dict[str, Any]:
    """Leave-one-set-out margins, the all-sets margin and the shipped figures."""
    targets = tuple(TARGETS.values())
    loso = []
    for held, (genuine, impostor) in per_set.items():
        others = [imp for name, (_, imp) in per_set.items() if name != held]
        factor = smallest_factor(base, others, targets, within=WITHIN)
        loso.append(
            {"held_out": held, "factor": factor}
            | figures(replace(base, fmr_factor=factor), genuine, impostor)
        )
    every = smallest_factor(base, [imp for _, imp in per_set.values()], targets, within=WITHIN)
    shipped = {name: figures(base, g, i) for name, (g, i) in per_set.items()}
    pooled = figures(
        base,
        np.concatenate([g for g, _ in per_set.values()]),
        np.concatenate([i for _, i in per_set.values()]),
    )
    return {
        "within": WITHIN,
        "shipped_factor": base.fmr_factor,
        "factor_on_all_sets": every,
        "leave_one_out": loso,
        "loso_kept_everywhere": all(r["kept"] for r in loso),
        "loso_fnmr_at_fmr_1e-3": float(np.mean([r["fnmr_at_fmr_1e-3"] for r in loso])),
        "shipped": shipped,
        "shipped_pooled": pooled,
        "shipped_fnmr_at_fmr_1e-3": float(
            np.mean([r["fnmr_at_fmr_1e-3"] for r in shipped.values()])
        ),
    }


def _table(title: str, rows: list[tuple[str, str, dict[str, Any]]]) -> Table:
    table = Table(title=title)
    for col in ("set", "factor", "FMR@1e-3 (n)", "x claim", "FMR@1e-4 (n)", "x claim", "FNMR@1e-3"):
        table.add_column(col, justify="left" if col == "set" else "right")
    for name, factor, r in rows:
        table.add_row(
            name,
            factor,
            f"{r['fmr_measured_at_1e-3']:.2e} ({r['impostors_above_1e-3']})",
            f"{r['fmr_ratio_1e-3']:.2f}",
            f"{r['fmr_measured_at_1e-4']:.2e} ({r['impostors_above_1e-4']})",
            f"{r['fmr_ratio_1e-4']:.2f}",
            f"{r['fnmr_at_fmr_1e-3']:.2%}",
        )
    return table


def calibration_margin_command(
    archive: Annotated[Path, typer.Argument(help="A `satupintu-bench pair-scores` archive.")],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
) -> None:
    """The shipped calibration's margin: chosen leave one set out, and its per-set figures."""
    report = margin_report(scores_by_set(archive), default_calibration())
    write_json("calibration_margin.json", report, json_path)
    console.print(
        _table(
            "Leave one set out: margin chosen on the other sets, figures on the held-out one",
            [(r["held_out"], f"{r['factor']:g}", r) for r in report["leave_one_out"]],
        )
    )
    shipped = f"{report['shipped_factor']:g}"
    console.print(
        _table(
            f"Shipped calibration (margin x{shipped}; on all sets the rule gives "
            f"x{report['factor_on_all_sets']:g})",
            [(n, shipped, r) for n, r in report["shipped"].items()]
            + [("pooled", shipped, report["shipped_pooled"])],
        )
    )
