"""`satupintu template ...`: inspect and convert biometric records from the command line, and
extract the enrolled finger gallery again with another extractor."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.biometrics import repository as template_repository
from gateway.biometrics.engine import BiometricEngine
from gateway.crypto.runtime import open_runtime
from gateway.enrollment.reextract import ReextractionReport, reextract
from gateway.enrollment.versions import record_versions
from matcher.fingerprint import extractors
from matcher.fingerprint.fmr import FORMATS
from matcher.fingerprint.learned import ModelError
from matcher.fingerprint.templates import convert, describe_template
from matcher.records import iso19794_4
from matcher.records.capture import describe_capture_record, is_capture_record
from matcher.records.errors import RecordFormatError
from matcher.records.model import FINGER_2005, FINGER_2011

FINGER_IMAGE_EDITIONS = (FINGER_2005, FINGER_2011)
template_app = typer.Typer(
    help="Biometric records: minutiae templates and capture records; the enrolled gallery.",
    no_args_is_help=True,
)
console = Console()


def _refuse(exc: RecordFormatError) -> typer.Exit:
    typer.echo(json.dumps({"error": exc.code, "field": exc.field, "message": str(exc)}), err=True)
    return typer.Exit(code=2)


@template_app.command("show")
def show(
    file: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="ISO/IEC 19794-2 (2005, 2011), ANSI/INCITS 378, ISO/IEC 19794-4 or -6 record, "
        "or a Satu Pintu template.",
    ),
) -> None:
    """Print a record as JSON: header fields, views or representations, every minutia."""
    data = file.read_bytes()
    try:
        doc = describe_capture_record(data) if is_capture_record(data) else describe_template(data)
    except RecordFormatError as exc:
        raise _refuse(exc) from exc
    typer.echo(json.dumps(doc, indent=2))


@template_app.command("convert")
def convert_command(
    source: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A minutiae record or a finger image record."
    ),
    target: Path = typer.Argument(..., dir_okay=False, help="Where to write the converted one."),
    to: str = typer.Option(
        ..., "--to", help=f"Target format: {', '.join((*FORMATS, *FINGER_IMAGE_EDITIONS))}."
    ),
) -> None:
    """Re-encode a minutiae record in another format (angles re-expressed in its unit), or a
    finger image record in the other edition of ISO/IEC 19794-4 (image data untouched)."""
    data = source.read_bytes()
    notes: list[str] = []
    try:
        if to in FINGER_IMAGE_EDITIONS:
            out = iso19794_4.convert(data, to)
        else:
            out, notes = convert(data, to)
    except RecordFormatError as exc:
        raise _refuse(exc) from exc
    target.write_bytes(out)
    for note in notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(f"{target}: {to}, {len(out)} bytes")


def _login() -> str:
    """The account running the command; a container without a user database has none."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _print_report(report: ReextractionReport) -> None:
    verb = "would be" if report.dry_run else "were"
    table = Table(
        title=f"finger templates to {report.extractor}" + (" (dry run)" if report.dry_run else "")
    )
    table.add_column("templates")
    table.add_column("count", justify="right")
    table.add_row("not at the target when the run began", str(report.to_do))
    for made_by, n in sorted(report.made_by.items()):
        table.add_row(f"  made by {made_by}", str(n))
    table.add_row(f"re-extracted from their stored capture ({verb})", str(report.replaced))
    table.add_row(f"already at the target, version recorded ({verb})", str(report.recorded))
    table.add_row("changed by another writer meanwhile (left alone)", str(report.superseded))
    table.add_row("need re-enrolment (listed below)", str(len(report.reenrol)))
    console.print(table)
    if report.reenrol:
        # One plain line each, never cut to the terminal's width: the list is for acting on.
        typer.echo("need re-enrolment (they keep matching meanwhile):")
        for item in report.reenrol:
            made_by = item.made_by or "(minutiae record)"
            typer.echo(
                f"  {item.template} person {item.person} finger {item.position} "
                f"made by {made_by}: {item.reason}"
            )


@template_app.command("re-extract")
def reextract_command(
    extractor: str = typer.Option(
        extractors.DEFAULT,
        "--extractor",
        help=f"Target extractor by name: {', '.join(extractors.NAMES)}.",
    ),
    batch: int = typer.Option(100, "--batch", min=1, help="Templates per transaction."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count and list what would change; write nothing."
    ),
    operator: str | None = typer.Option(
        None, "--operator", help="Who runs it, for the audit log (default: the login name)."
    ),
) -> None:
    """Extract every active finger template not made by `--extractor` again from the capture
    kept at its enrolment, a batch a transaction, while gateways keep serving.

    Stopped at any point, running it again carries on with what is left. Templates with no
    stored capture are listed as needing re-enrolment (exit code 3 when there are any).
    """
    try:
        extractors.version(extractor)
    except extractors.UnknownExtractor as exc:
        raise typer.BadParameter(str(exc), param_hint="--extractor") from exc
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with open_runtime() as rt, Progress(*columns, console=console) as bar:
        task = bar.add_task(f"re-extracting with {extractor}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = reextract(
                session_factory=rt.session_factory,
                engine=BiometricEngine(cache_size=0),
                extractor=extractor,
                actor=f"cli:{operator or _login()}",
                batch=batch,
                dry_run=dry_run,
                progress=progress,
            )
        except ModelError as exc:
            typer.echo(json.dumps({"error": exc.code, "message": str(exc)}), err=True)
            raise typer.Exit(code=2) from exc
    _print_report(report)
    if report.reenrol:
        raise typer.Exit(code=3)


@template_app.command("versions")
def versions_command(
    record: bool = typer.Option(
        False,
        "--record",
        help="First record the extractor of templates stored before rows named it.",
    ),
    operator: str | None = typer.Option(
        None, "--operator", help="Who runs it, for the audit log (default: the login name)."
    ),
) -> None:
    """Count the active templates by the extractor (name/version) that made them."""
    with open_runtime() as rt:
        if record:
            with console.status("recording extractor versions"):
                n = record_versions(
                    session_factory=rt.session_factory,
                    engine=BiometricEngine(cache_size=0),
                    actor=f"cli:{operator or _login()}",
                )
            console.print(f"recorded the extractor of {n} templates")
        with rt.session_factory() as session:
            counts = {
                m: template_repository.extractor_counts(session, m) for m in ("finger", "iris")
            }
    table = Table(title="active templates by extractor")
    for column in ("modality", "extractor", "templates"):
        table.add_column(column)
    for modality, by in counts.items():
        for name, n in sorted(by.items(), key=lambda item: item[0] or ""):
            label = "(not recorded: --record)" if name is None else name or "(minutiae record)"
            table.add_row(modality, label, str(n))
    console.print(table)
