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
  claimed 1e-3 threshold;
- why a sensor's impostors score higher: per set the templates' mean minutiae count, image
  size, image quality and minutiae density (per 10,000 px² of the minutiae's convex hull), and
  how many pairs of fingers the ten highest impostor scores come from;
- with `--conditioned`, the alternative of conditioning on the pair's minutiae counts:
  impostor log-odds grow about linearly in the log of the smaller template's count, so the
  score's log-odds are normalised by β·log(count / median) (β fitted on synthetic
  impostors), the synthetic calibration refitted on normalised scores, and the same
  leave-one-set-out margin table made for it.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.output import write_json
from matcher.fingerprint.calibration import Calibration, default_calibration, smallest_factor
from matcher.fingerprint.compare import compare_prepared, prepare
from matcher.fingerprint.synthetic_calibration import (
    CALIBRATION_IMPRESSION,
    FIRST_SEED,
    SYNTHETIC_TAIL_WIDENING,
    fit_impostors,
)
from matcher.synthetic.minutiae import impression, master

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


def _log_odds(score: np.ndarray) -> np.ndarray:
    clipped = np.clip(score, 1e-12, 1.0 - 1e-12)
    return np.log(clipped / (1.0 - clipped))


def _hull_area(x: np.ndarray, y: np.ndarray) -> float:
    """Area of the convex hull of the points (monotone chain), 0 for fewer than three."""
    points = sorted(set(zip(x.tolist(), y.tolist(), strict=True)))
    if len(points) < 3:
        return 0.0

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while (
                len(out) >= 2
                and (
                    (out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                    - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])
                )
                <= 0
            ):
                out.pop()
            out.append(p)
        return out

    hull = half(points)[:-1] + half(points[::-1])[:-1]
    hx, hy = np.array([p[0] for p in hull]), np.array([p[1] for p in hull])
    return float(abs(np.dot(hx, np.roll(hy, 1)) - np.dot(hy, np.roll(hx, 1))) / 2)


def covariates(archive: Path) -> dict[str, dict[str, Any]]:
    """Per set: what its templates look like, and how concentrated its top impostors are."""
    with np.load(archive) as data:
        d = {k: data[k] for k in data.files}
    start = d["fused_start"]
    count = np.diff(start)
    density = np.array(
        [
            1e4 * n / max(_hull_area(d["fused_x"][a:b], d["fused_y"][a:b]), 1.0)
            for n, a, b in zip(count, start[:-1], start[1:], strict=True)
        ]
    )
    pair_db = d["database"][d["pair_i"]]
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(d["database"].tolist()):
        mine = d["database"] == name
        impostor = np.flatnonzero((pair_db == name) & ~d["genuine"])
        top = impostor[np.argsort(-d["score"][impostor])[:10]]
        fingers = {
            tuple(sorted((str(d["identity"][d["pair_i"][k]]), str(d["identity"][d["pair_j"][k]]))))
            for k in top
        }
        out[name] = {
            "minutiae_mean": float(count[mine].mean()),
            "image_width": float(d["width"][mine].mean()),
            "image_height": float(d["height"][mine].mean()),
            "image_quality_mean": float(d["image_quality"][mine].mean()),
            "density_per_10k_px2": float(density[mine].mean()),
            "top10_impostor_finger_pairs": sorted("x".join(f) for f in fingers),
        }
    return out


def _synthetic_pairs(fingers: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores and smaller cylinder counts of all synthetic impostor pairs (the shipped
    calibration's impressions)."""
    templates = [
        prepare(impression(master(s), seed=1, params=CALIBRATION_IMPRESSION))
        for s in range(FIRST_SEED, FIRST_SEED + fingers)
    ]
    pairs = list(combinations(templates, 2))
    return (
        np.array([compare_prepared(a, b) for a, b in pairs]),
        np.array([min(len(a), len(b)) for a, b in pairs], dtype=np.float64),
    )


def count_slope(scores: np.ndarray, counts: np.ndarray, quantile: float = 0.99) -> float:
    """Slope of the impostors' upper log-odds quantile against the log of the pair's smaller
    minutiae count, over eight equally filled count bins."""
    edges = np.quantile(counts, np.linspace(0.0, 1.0, 9))
    bins = np.clip(np.searchsorted(edges, counts, side="right") - 1, 0, 7)
    x = [np.log(np.median(counts[bins == b])) for b in range(8) if np.any(bins == b)]
    y = [np.quantile(_log_odds(scores[bins == b]), quantile) for b in range(8) if np.any(bins == b)]
    return float(np.polyfit(x, y, 1)[0])


def conditioned(archive: Path, fingers: int) -> dict[str, Any]:
    """The leave-one-set-out margin table of a calibration conditioned on minutiae counts."""
    scores, counts = _synthetic_pairs(fingers)
    beta = count_slope(scores, counts)
    reference = float(np.median(counts))

    def normalised(s: np.ndarray, n: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(_log_odds(s) - beta * np.log(n / reference))))

    fitted = fit_impostors(normalised(scores, counts), source="count-normalised synthetic")
    base = replace(fitted, tail_scale=fitted.tail_scale * SYNTHETIC_TAIL_WIDENING)
    with np.load(archive) as data:
        cyl = data["cylinders"].astype(np.float64)
        smaller = np.maximum(np.minimum(cyl[data["pair_i"]], cyl[data["pair_j"]]), 1.0)
        database = data["database"][data["pair_i"]]
        genuine, score = data["genuine"], data["score"]
    adjusted = normalised(score, smaller)
    per_set = {
        name: (adjusted[(database == name) & genuine], adjusted[(database == name) & ~genuine])
        for name in dict.fromkeys(database.tolist())
    }
    real = np.isfinite(score) & ~genuine
    return {
        "beta_synthetic": beta,
        "beta_real": count_slope(score[real], smaller[real]),
        "reference_count": reference,
        "synthetic_fingers": fingers,
    } | margin_report(per_set, base)


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
        table.add_column(col, justify="left" if col == "set" else "right", no_wrap=col == "set")
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
    conditioned_on_counts: Annotated[
        int,
        typer.Option(
            "--conditioned",
            help="Also measure a count-conditioned calibration from N synthetic fingers.",
        ),
    ] = 0,
) -> None:
    """The shipped calibration's margin: chosen leave one set out, and its per-set figures."""
    report = margin_report(scores_by_set(archive), default_calibration())
    report["covariates"] = covariates(archive)
    if conditioned_on_counts:
        report["count_conditioned"] = conditioned(archive, conditioned_on_counts)
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
    table = Table(title="Templates of each set, and the pairs of fingers behind its top impostors")
    for col in ("set", "minutiae", "image", "quality", "density", "top-10 impostor finger pairs"):
        table.add_column(col)
    for name, c in report["covariates"].items():
        table.add_row(
            name,
            f"{c['minutiae_mean']:.1f}",
            f"{c['image_width']:.0f}x{c['image_height']:.0f}",
            f"{c['image_quality_mean']:.0f}",
            f"{c['density_per_10k_px2']:.2f}",
            " ".join(c["top10_impostor_finger_pairs"]),
        )
    console.print(table)
    if conditioned_on_counts:
        cond = report["count_conditioned"]
        console.print(
            _table(
                f"Conditioned on minutiae counts (beta {cond['beta_synthetic']:.2f} synthetic, "
                f"{cond['beta_real']:.2f} real): margin chosen on the other sets",
                [(r["held_out"], f"{r['factor']:g}", r) for r in cond["leave_one_out"]],
            )
        )
