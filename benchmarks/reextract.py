"""`satupintu-bench reextract`: moving an enrolled gallery to another extractor, and what a
verification feels meanwhile.

A synthetic register is imported and `--people` adults are enrolled through the enrollment
service from rendered finger images (both index fingers, PNG at 500 dpi), so the templates
are the intake's and the images are kept as enrolment keeps them. Then a verifier loop (one
person's two fingers compared with their enrolled templates, and the audit entry a
verification writes, one transaction each) is timed alone, and again beside
`templates re-extract --extractor NAME`, which the benchmark runs as the command does.
Reported: the run's time per template, the verifier's latency percentiles alone and beside
it, and a second run (which must find nothing to do).

The verifier runs in a thread of the benchmark's process, so it shares the interpreter with
the run: a gateway in a process of its own is disturbed less.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.live import database_kind, private_schema
from benchmarks.output import write_json
from gateway.audit.service import AuditKind, append
from gateway.biometrics.captures import CaptureContext, Sample, decode_captures, open_captures
from gateway.biometrics.engine import BiometricEngine
from gateway.biometrics.schemas import Captures, FingerCapture
from gateway.crypto.runtime import open_runtime
from gateway.db import unit_of_work, utcnow
from gateway.enrollment.reextract import reextract
from gateway.enrollment.schemas import EnrollmentRequest
from gateway.enrollment.service import enroll
from gateway.enrollment.templates import compare_current
from gateway.indexing.applier import IndexApplier
from gateway.indexing.identifiers import IdentifierFactory
from gateway.registry.importer import import_register
from gateway.registry.service import find_person
from gateway.registry.synthetic import synthetic_rows, write_register_csv
from gateway.settings import Settings
from gateway.terminals.identity import AuthenticatedTerminal
from gateway.trust.anomalies import AnomalyPolicy
from matcher.fingerprint import extractors
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.ridges import master_fingerprint

TODAY = dt.date(2026, 11, 27)
SEED = 7
POSITIONS = (2, 7)
# Finger p of person k is synthetic master FINGER_BASE + 16k + p: apart from the seeds the
# calibration and the other benchmarks use.
FINGER_BASE = 500_000


def _fingers(person: int, shot: int) -> list[FingerCapture]:
    return [
        FingerCapture(
            position=p,
            format="image",
            resolution_dpi=500,
            data=base64.b64encode(
                cv2.imencode(
                    ".png",
                    impression_image(master_fingerprint(FINGER_BASE + 16 * person + p), shot).image,
                )[1].tobytes()
            ),
        )
        for p in POSITIONS
    ]


def _ctx(session: Any) -> CaptureContext:
    terminal = AuthenticatedTerminal(
        id="T-BENCH",
        agent_name="bench",
        bank_code="SIM",
        province_code="32",
        regency_code="01",
        nonce=f"n-{time.time_ns()}",
        created=utcnow(),
    )
    return CaptureContext(session=session, terminal=terminal, allow_plaintext=True)


def _percentiles(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(max(ms)),
        "n": len(ms),
    }


def reextract_command(
    people: int = typer.Option(40, help="Adults enrolled from rendered images."),
    extractor: str = typer.Option(
        "student", help=f"Target extractor: {', '.join(extractors.NAMES)}."
    ),
    batch: int = typer.Option(20, min=1, help="Templates per transaction."),
    database_url: str = typer.Option("", help="Database (default: a fresh SQLite file)."),
    json_file: Path = typer.Option(None, "--json", help="Also write the results here."),
) -> None:
    """Time `templates re-extract` on an image-enrolled gallery, and a verifier beside it."""
    target = extractors.version(extractor)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="satupintu-bench-") as tmp:
        url = database_url or f"sqlite:///{tmp}/reextract.db"
        with (
            private_schema(url) as url,
            open_runtime(Settings(data_dir=Path(tmp), database_url=url)) as rt,
        ):
            factory = rt.session_factory
            text = io.StringIO()
            households = max(4, people)
            write_register_csv(text, households=households, seed=SEED, today=TODAY)
            import_register(
                session_factory=factory, source=io.BytesIO(text.getvalue().encode()), today=TODAY
            )
            adults = [
                r
                for r in synthetic_rows(households=households, seed=SEED, today=TODAY)
                if int(r["birth_date"][:4]) <= TODAY.year - 18
            ][:people]
            engine = BiometricEngine()
            indexes = IndexApplier(
                session_factory=factory,
                engine=engine,
                factory=IdentifierFactory(finger_calibration=engine.finger_calibration),
                snapshot_dir=None,
            )
            indexes.load()
            enrolled = []
            with console.status(f"enrolling {len(adults)} people from images"):
                for k, row in enumerate(adults):
                    indexes.catch_up()
                    with unit_of_work(factory) as session:
                        result = enroll(
                            session=session,
                            engine=engine,
                            indexes=indexes,
                            request=EnrollmentRequest(nik=row["nik"], fingers=_fingers(k, 1)),
                            ctx=_ctx(session),
                            min_quality=0,
                            duplicate_target_fpir=1e-4,
                            update_target_fmr=1e-4,
                            anomaly=AnomalyPolicy(),
                        )
                    if result.status == "enrolled":
                        enrolled.append((k, row["nik"]))
            k, nik = enrolled[0]
            with factory() as session:
                opened = open_captures(Captures(fingers=_fingers(k, 2)), ctx=_ctx(session))
                samples: list[Sample] = decode_captures(opened, min_quality=0)[0]
                person_id = find_person(session=session, nik=nik).id

            def verify_once() -> float:
                began = time.perf_counter()
                with unit_of_work(factory) as session:
                    found = compare_current(
                        session=session, engine=engine, person_id=person_id, samples=samples
                    )
                    append(
                        session=session,
                        kind=AuditKind.verification,
                        actor="terminal:T-BENCH",
                        subject="person:bench",
                        data={"fmr": min(c.fmr for c in found)},
                    )
                return (time.perf_counter() - began) * 1000

            for _ in range(20):
                verify_once()
            alone = [verify_once() for _ in range(200)]
            beside: list[float] = []
            stop = threading.Event()

            def verifier() -> None:
                while not stop.is_set():
                    beside.append(verify_once())

            thread = threading.Thread(target=verifier, name="verifier")
            thread.start()
            began = time.perf_counter()
            try:
                report = reextract(
                    session_factory=factory,
                    engine=BiometricEngine(cache_size=0),
                    extractor=extractor,
                    actor="cli:bench",
                    batch=batch,
                )
            finally:
                stop.set()
                thread.join()
            run_s = time.perf_counter() - began
            second = reextract(
                session_factory=factory,
                engine=BiometricEngine(cache_size=0),
                extractor=extractor,
                actor="cli:bench",
                batch=batch,
            )
    result_data = {
        "database": database_kind(url),
        "extractor": target,
        "people": len(adults),
        "enrolled": len(enrolled),
        "batch": batch,
        "templates_replaced": report.replaced,
        "needs_reenrolment": len(report.reenrol),
        "run_s": run_s,
        "ms_per_template": 1000 * run_s / max(1, report.replaced),
        "verify_alone": _percentiles(alone),
        "verify_beside_run": _percentiles(beside),
        "second_run_replaced": second.replaced,
    }
    table = Table(title=f"re-extraction to {target} ({result_data['database']})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result_data.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v:.1f}" for k, v in value.items())
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    write_json(
        f"reextract_{target.replace('/', '-')}_{result_data['database']}.json",
        result_data,
        json_file,
    )
