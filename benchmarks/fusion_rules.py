"""`satupintu-bench fusion-rules PATH…`: ways of joining the Gabor and student extractors.

Each image is analysed once (the classical pipeline, student inferences), then every
rule is scored on the same pairs: the Gabor minutiae alone, the student's alone, the union of
minutiae at several student thresholds and same-minutia radii, the union with the ridge
period matched to the student's training images (what `fused` does), and two
comparison-level rules on the two single-extractor scores (their mean and their maximum).
For each rule the figure that decides is the FNMR at FMR 1e-3 with the threshold fitted on
the all-pairs impostors of the *other* sets (leave one set out), so no rule is judged on
data that set its threshold. JSON keys per rule: `loso_fnmr_at_fmr_1e-3` (average over
held-out sets), `eer_allpairs` (average), and per set `fnmr` and `eer`.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks import resolution
from benchmarks.accuracy import databases_of
from benchmarks.output import write_json
from matcher.evaluation.fingerprint import IMAGE_SUFFIXES
from matcher.evaluation.metrics import equal_error_rate, error_curve
from matcher.fingerprint import extract as classical
from matcher.fingerprint import fused, student
from matcher.fingerprint.calibration import LOG_ODDS_TAIL, fit
from matcher.fingerprint.compare import PreparedTemplate, compare_prepared, prepare
from matcher.fingerprint.image import FingerprintImageError, load
from matcher.fingerprint.types import MinutiaSet

console = Console()
# (student threshold, same-minutia radius px) of the union rules measured.
UNIONS = ((0.2, 8.0), (0.25, 8.0), (0.3, 8.0), (0.35, 5.0), (0.35, 8.0), (0.35, 12.0))
Scores = tuple[np.ndarray, np.ndarray]  # genuine, all-pairs impostor


@dataclasses.dataclass
class Capture:
    """One image analysed once: its Gabor minutiae and the student's at each threshold."""

    identity: str
    gabor: MinutiaSet
    student: dict[float, MinutiaSet]
    period_matched: MinutiaSet  # the student at the fused threshold, ridge period matched


def _analyse(data: bytes, dpi: int | None, thresholds: tuple[float, ...]) -> Capture | None:
    network = student.checked_session()
    try:
        finger = load(data, resolution_dpi=dpi)
    except FingerprintImageError:
        return None
    analysis = classical.analyse(finger.pixels)
    found = {t: student.detect(network, finger, analysis, t) for t in thresholds}
    matched = student.detect(
        network, finger, analysis, fused.DETECTION_THRESHOLD, match_period=True
    )
    return Capture("", analysis.minutiae, found, matched)


def _pairs(captures: list[Capture | None]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    ids = [c.identity if c else f"failed{k}" for k, c in enumerate(captures)]
    pairs = list(itertools.combinations(range(len(captures)), 2))
    return [p for p in pairs if ids[p[0]] == ids[p[1]]], [
        p for p in pairs if ids[p[0]] != ids[p[1]]
    ]


def _scores(templates: list[PreparedTemplate | None], pairs: list[tuple[int, int]]) -> np.ndarray:
    out = []
    for i, j in pairs:
        a, b = templates[i], templates[j]
        out.append(compare_prepared(a, b) if a is not None and b is not None else 0.0)
    return np.asarray(out)


def _template_rule(captures: list[Capture | None], make: Callable[[Capture], MinutiaSet]) -> Scores:
    genuine, impostor = _pairs(captures)
    templates = [prepare(make(c)) if c else None for c in captures]
    return _scores(templates, genuine), _scores(templates, impostor)


def _gabor(c: Capture) -> MinutiaSet:
    return c.gabor


def _student(c: Capture) -> MinutiaSet:
    return c.student[student.DETECTION_THRESHOLD]


def _joined(threshold: float, radius: float) -> Callable[[Capture], MinutiaSet]:
    """The union rule at one student threshold and same-minutia radius."""

    def make(c: Capture) -> MinutiaSet:
        return fused.union(c.student[threshold], c.gabor, same_distance=radius)

    return make


def fused_rule(c: Capture) -> MinutiaSet:
    """What the default extractor does."""
    return fused.union(c.period_matched, c.gabor)


def leave_one_out(per_set: dict[str, Scores], target: float = 1e-3) -> dict[str, Any]:
    """FNMR at `target` on each set with the threshold fitted on the other sets' impostors."""
    rows: dict[str, dict[str, float]] = {}
    for name, (genuine, impostor) in per_set.items():
        others = np.concatenate([s[1] for n, s in per_set.items() if n != name])
        threshold = fit(others, source="others", tail_space=LOG_ODDS_TAIL).threshold(target)
        rows[name] = {
            "fnmr": float(np.mean(genuine < threshold)),
            "eer": equal_error_rate(error_curve(genuine, impostor))[0],
        }
    return {
        "loso_fnmr_at_fmr_1e-3": float(np.mean([r["fnmr"] for r in rows.values()])),
        "eer_allpairs": float(np.mean([r["eer"] for r in rows.values()])),
        "databases": rows,
    }


def fusion_rules_command(
    paths: Annotated[list[str], typer.Argument(help="Folders of labelled databases.")],
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write the JSON result here.")
    ] = None,
    dpi: resolution.DpiOption = None,
    dpi_file: resolution.DpiFileOption = None,
) -> None:
    """Compare ways of joining the Gabor and student extractors, leave one set out."""
    resolutions = resolution.parse(dpi or [], dpi_file)
    thresholds = tuple(sorted({t for t, _ in UNIONS} | {student.DETECTION_THRESHOLD}))
    rules: dict[str, dict[str, Scores]] = {}
    for db in databases_of(paths, IMAGE_SUFFIXES, Path(".")):
        dpi_of_db = resolutions.of(db.name, db.root)
        with console.status(f"analysing {db.name}…"):
            captures = []
            for sample in db.samples:
                c = _analyse(sample.path.read_bytes(), dpi_of_db, thresholds)
                captures.append(dataclasses.replace(c, identity=sample.identity) if c else None)
        gabor = _template_rule(captures, _gabor)
        alone = _template_rule(captures, _student)
        found: dict[str, Scores] = {
            "gabor": gabor,
            "student": alone,
            "mean of scores": ((gabor[0] + alone[0]) / 2, (gabor[1] + alone[1]) / 2),
            "max of scores": (np.maximum(gabor[0], alone[0]), np.maximum(gabor[1], alone[1])),
        }
        for t, r in UNIONS:
            found[f"union t{t:g} r{r:g}"] = _template_rule(captures, _joined(t, r))
        found["union t0.25 r8, period matched (fused)"] = _template_rule(captures, fused_rule)
        for rule, scores in found.items():
            rules.setdefault(rule, {})[db.name] = scores
    result: dict[str, dict[str, Any]] = {
        rule: leave_one_out(per_set) for rule, per_set in rules.items()
    }
    write_json("fusion_rules.json", result, json_path)
    table = Table(title="Joining Gabor and student: FNMR at FMR 1e-3, leave one set out")
    for col in ("rule", "FNMR@1e-3 held out", "EER all pairs"):
        table.add_column(col)
    for rule, row in sorted(result.items(), key=lambda kv: kv[1]["loso_fnmr_at_fmr_1e-3"]):
        table.add_row(rule, f"{row['loso_fnmr_at_fmr_1e-3']:.2%}", f"{row['eer_allpairs']:.2%}")
    console.print(table)
