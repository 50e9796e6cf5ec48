"""`satupintu match A B` and `satupintu calibrate`: 1:1 fingerprint decisions from the shell."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from gateway.settings import Settings
from matcher.evaluation.dataset import DatasetError, discover
from matcher.evaluation.fingerprint import FingerprintModality, enrol, read_views
from matcher.evaluation.harness import evaluate
from matcher.evaluation.modality import FailureToEnrol
from matcher.fingerprint.calibration import (
    DEFAULT_TARGET_FMR,
    Calibration,
    CalibrationError,
    load_calibration,
)
from matcher.fingerprint.compare import PreparedTemplate, compare_prepared
from matcher.fingerprint.fused import extract
from matcher.fingerprint.fusion import fuse
from matcher.fingerprint.synthetic_calibration import fit_impostors, fit_synthetic
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.ridges import master_fingerprint

REPORT_FMRS = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
console = Console(stderr=True)


def _calibration(path: Path | None) -> Calibration:
    chosen = path or Settings().finger_calibration_path
    try:
        return load_calibration(chosen)
    except (OSError, CalibrationError) as exc:
        raise typer.BadParameter(f"calibration {chosen}: {exc}") from exc


def _fail(code: str, message: str) -> None:
    typer.echo(json.dumps({"error": code, "message": message}))
    raise typer.Exit(code=2)


def _describe(path: Path, views: list[MinutiaSet]) -> dict[str, Any]:
    return {
        "file": path.name,
        "views": [{"finger_position": v.finger_position, "minutiae": len(v)} for v in views],
    }


def _pairs(a: list[MinutiaSet], b: list[MinutiaSet]) -> list[tuple[MinutiaSet, MinutiaSet]]:
    """Views to compare: same finger positions where both sides name them, else first views."""
    first_a = {v.finger_position: v for v in reversed(a) if v.finger_position}
    first_b = {v.finger_position: v for v in reversed(b) if v.finger_position}
    common = sorted(set(first_a) & set(first_b))
    return [(first_a[p], first_b[p]) for p in common] or [(a[0], b[0])]


def match_command(
    a: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Image or template.")],
    b: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Image or template.")],
    target_fmr: Annotated[float, typer.Option(help="False match rate to decide at.")] = (
        DEFAULT_TARGET_FMR
    ),
    dpi: Annotated[int | None, typer.Option(help="Resolution of image captures.")] = None,
    calibration: Annotated[
        Path | None,
        typer.Option(
            help="Calibration JSON (default: $SATUPINTU_FINGER_CALIBRATION_PATH or shipped)."
        ),
    ] = None,
) -> None:
    """Compare two captures (images or ISO/IEC 19794-2 / Satu Pintu records); print JSON.

    Records with several views are compared finger by finger (same finger positions) and the
    fingers fused; the output always has `score`, `decision` and `fmr`.
    """
    cal = _calibration(calibration)
    try:
        views_a = read_views(a.read_bytes(), name=a.name, resolution_dpi=dpi)
        views_b = read_views(b.read_bytes(), name=b.name, resolution_dpi=dpi)
        pairs = [
            (enrol(x, name=a.name), enrol(y, name=b.name)) for x, y in _pairs(views_a, views_b)
        ]
    except FailureToEnrol as exc:
        _fail(exc.code, str(exc))
        return
    scores = [compare_prepared(x, y) for x, y in pairs]
    out: dict[str, Any]
    if len(scores) == 1:
        out = cal.decide(scores[0], target_fmr).as_dict()
    else:
        out = fuse(scores, calibration=cal, target_fmr=target_fmr).as_dict()
        out["rule"] = "fisher"
    out["a"], out["b"] = _describe(a, views_a), _describe(b, views_b)
    out["calibration"] = cal.source
    typer.echo(json.dumps(out, indent=2))


def _synthetic_template(seed: int) -> PreparedTemplate | None:
    """One rendered synthetic impression through our extractor (None if it fails to enrol)."""
    image = impression_image(master_fingerprint(seed), 1).image
    try:
        return enrol(extract(image))
    except FailureToEnrol:
        return None


def _rendered_impostors(fingers: int, processes: int) -> np.ndarray:
    """All-pairs impostor scores of rendered synthetic fingers through our extractor, so its
    artefacts (spurious and missed minutiae, direction noise) shape the distribution too."""
    seeds = range(90_000, 90_000 + fingers)
    made: list[PreparedTemplate | None]
    if processes > 1:
        with mp.get_context("fork").Pool(processes) as pool:
            made = pool.map(_synthetic_template, seeds, chunksize=4)
    else:
        made = [_synthetic_template(s) for s in seeds]
    templates = [t for t in made if t is not None]
    return np.array(
        [
            compare_prepared(templates[i], templates[j])
            for i in range(len(templates))
            for j in range(i + 1, len(templates))
        ]
    )


def calibrate_command(
    folder: Annotated[
        Path | None, typer.Argument(help="Labelled folder (flat or one sub-folder per identity).")
    ] = None,
    synthetic: Annotated[
        int, typer.Option(help="Instead of a folder, use this many synthetic fingers.")
    ] = 0,
    out: Annotated[Path | None, typer.Option(help="Where to write the calibration JSON.")] = None,
    rendered: Annotated[
        bool, typer.Option(help="With --synthetic: render images and extract them.")
    ] = False,
    dpi: Annotated[int | None, typer.Option(help="Resolution of image captures.")] = None,
    processes: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Learn score → FMR from impostor comparisons and write a calibration JSON.

    `satupintu calibrate --synthetic 800 --out <package default>` regenerates the shipped
    default; `satupintu calibrate FOLDER --out FILE` learns from real labelled captures (use
    it with `satupintu match --calibration FILE` or $SATUPINTU_FINGER_CALIBRATION_PATH, which
    the gateway reads too).
    """
    if (folder is None) == (synthetic <= 0):
        raise typer.BadParameter("give either a FOLDER or --synthetic N")
    if folder is not None:
        modality = FingerprintModality(resolution_dpi=dpi)
        try:
            databases = discover(folder, modality.suffixes)
        except DatasetError as exc:
            raise typer.BadParameter(str(exc)) from exc
        with console.status("loading and comparing…"):
            results = [evaluate(modality, db, processes=processes) for db in databases]
        impostors = np.concatenate([r.impostor_all for r in results])
        source = f"folder {folder.name}: {sum(r.samples for r in results)} samples"
    elif rendered:
        with console.status(f"comparing {synthetic} rendered synthetic fingers…"):
            impostors = _rendered_impostors(synthetic, processes)
        source = f"synthetic rendered impressions through our extractor: {synthetic} fingers"
    try:
        if folder is None and not rendered:
            with console.status(f"comparing {synthetic} synthetic fingers…"):
                cal = fit_synthetic(synthetic)
        else:
            cal = fit_impostors(impostors, source=source)
    except CalibrationError as exc:
        raise typer.BadParameter(str(exc)) from exc
    target = out or Path("var") / "fingerprint_calibration.json"
    cal.save(target)
    table = Table(title=f"Calibration from {cal.impostors:,} impostor scores ({cal.source})")
    table.add_column("target FMR", justify="right")
    table.add_column("threshold", justify="right")
    for fmr in REPORT_FMRS:
        table.add_row(f"{fmr:g}", f"{cal.threshold(fmr):.4f}")
    console.print(table)
    typer.echo(json.dumps({"written": str(target), "impostors": cal.impostors}))
