"""`satupintu-bench cross-vendor PATH...`: another vendor's records against our extraction.

An e-KTP card carries minutiae made by the card issuer's extractor, and the terminal compares
them with minutiae our default extractor finds in a live capture. This benchmark plays the
card issuer with a different extractor (`--vendor`, LEADER by default), writes its minutiae
of every image as an ISO/IEC 19794-2 record and reads them back (as the card's record would
arrive), and compares each record with our extraction (`--ours`, one or more extractors) of
every other image: genuine = record of one impression against our extraction of another
impression of the same finger (both orders), impostor = record against extraction of a
different finger. Rates are all pairs; FNMR@1e-3 and the measured FMR use the shipped
calibration's threshold for FMR 1e-3, as a terminal would. JSON keys per row: `eer`,
`fnmr_at_fmr_1e-3`, `fmr_measured_at_1e-3`, `genuine`, `impostor`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks import resolution
from benchmarks.accuracy import databases_of
from benchmarks.output import write_json
from matcher.evaluation.fingerprint import EXTRACTORS, IMAGE_SUFFIXES
from matcher.evaluation.metrics import equal_error_rate, error_curve
from matcher.fingerprint import extractors, iso19794_2
from matcher.fingerprint.calibration import calibration_for
from matcher.fingerprint.compare import PreparedTemplate, compare_prepared, prepare
from matcher.fingerprint.image import FingerprintImageError

console = Console()


def _templates(
    name: str, paths: list[Path], dpi: int | None, progress: Progress, *, as_record: bool
) -> list[PreparedTemplate | None]:
    """Prepared templates of every image by extractor `name` (None where it fails)."""
    fn = extractors.named(name)
    task = progress.add_task(f"{name}: {paths[0].parent.name}", total=len(paths))
    out: list[PreparedTemplate | None] = []
    for path in paths:
        try:
            ms = fn(path.read_bytes(), resolution_dpi=dpi)
        except FingerprintImageError:
            out.append(None)
        else:
            out.append(prepare(iso19794_2.read(iso19794_2.write([ms]))[0] if as_record else ms))
        progress.advance(task)
    progress.remove_task(task)
    return out


def cross_scores(
    records: list[PreparedTemplate | None],
    probes: list[PreparedTemplate | None],
    identities: list[str],
) -> tuple[np.ndarray, np.ndarray]:
    """(genuine, impostor) scores of every record against every other sample's probe; a
    sample either side failed to extract scores 0 (a refusal, as at a terminal)."""
    genuine: list[float] = []
    impostor: list[float] = []
    for i, record in enumerate(records):
        for j, probe in enumerate(probes):
            if i == j:
                continue
            score = (
                compare_prepared(record, probe) if record is not None and probe is not None else 0.0
            )
            (genuine if identities[i] == identities[j] else impostor).append(score)
    return np.asarray(genuine), np.asarray(impostor)


def row(database: str, extractor: str, genuine: np.ndarray, impostor: np.ndarray) -> dict[str, Any]:
    """EER and the terminal's operating point of one database and one extractor of ours."""
    threshold = calibration_for(extractor).threshold(1e-3)
    return {
        "database": database,
        "ours": extractor,
        "eer": round(equal_error_rate(error_curve(genuine, impostor))[0], 6),
        "fnmr_at_fmr_1e-3": round(float(np.mean(genuine < threshold)), 6),
        "fmr_measured_at_1e-3": round(float(np.mean(impostor >= threshold)), 6),
        "genuine": len(genuine),
        "impostor": len(impostor),
    }


def _average(rows: list[dict[str, Any]], extractor: str) -> dict[str, Any]:
    mine = [r for r in rows if r["ours"] == extractor]
    keys = ("eer", "fnmr_at_fmr_1e-3", "fmr_measured_at_1e-3")
    return {
        "database": "average",
        "ours": extractor,
        **{k: round(float(np.mean([r[k] for r in mine])), 6) for k in keys},
        "genuine": sum(r["genuine"] for r in mine),
        "impostor": sum(r["impostor"] for r in mine),
    }


def cross_vendor_command(
    paths: Annotated[list[str], typer.Argument(help="Labelled image folders or folders of them.")],
    vendor: Annotated[str, typer.Option(help="The extractor playing the card issuer.")] = "leader",
    ours: Annotated[
        list[str] | None, typer.Option(help="Our extractor(s) for the live capture.")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
    dpi: resolution.DpiOption = None,
    dpi_file: resolution.DpiFileOption = None,
) -> None:
    """Match a vendor's ISO/IEC 19794-2 records against our extraction of other captures."""
    mine = ours or ["gabor", extractors.DEFAULT]
    for name in (vendor, *mine):
        if name not in EXTRACTORS:
            raise typer.BadParameter(f"extractor {name!r}: one of {', '.join(EXTRACTORS)}")
    resolutions = resolution.parse(dpi or [], dpi_file)
    rows: list[dict[str, Any]] = []
    with Progress(console=console, transient=True) as progress:
        for db in databases_of(paths, IMAGE_SUFFIXES, Path(".")):
            samples = db.samples
            files = [s.path for s in samples]
            identities = [s.identity for s in samples]
            dpi_of_db = resolutions.of(db.name, db.root)
            records = _templates(vendor, files, dpi_of_db, progress, as_record=True)
            for extractor in mine:
                probes = _templates(extractor, files, dpi_of_db, progress, as_record=False)
                rows.append(row(db.name, extractor, *cross_scores(records, probes, identities)))
    rows += [_average(rows, extractor) for extractor in mine]
    result = {"vendor": vendor, "record_format": "ISO/IEC 19794-2:2005", "rows": rows}
    write_json(f"cross_vendor_{vendor}.json", result, json_path)
    table = Table(title=f"{vendor}'s ISO/IEC 19794-2 records against our extraction (all pairs)")
    for col in ("database", "ours", "EER", "FNMR@1e-3", "FMR@1e-3"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["database"],
            r["ours"],
            f"{r['eer']:.2%}",
            f"{r['fnmr_at_fmr_1e-3']:.2%}",
            f"{r['fmr_measured_at_1e-3']:.2e}",
        )
    console.print(table)
