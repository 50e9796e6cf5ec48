"""`satupintu template ...`: inspect and convert biometric records from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from matcher.fingerprint.fmr import FORMATS
from matcher.fingerprint.templates import convert, describe_template
from matcher.records import iso19794_4
from matcher.records.capture import describe_capture_record, is_capture_record
from matcher.records.errors import RecordFormatError
from matcher.records.model import FINGER_2005, FINGER_2011

FINGER_IMAGE_EDITIONS = (FINGER_2005, FINGER_2011)
template_app = typer.Typer(
    help="Biometric records: minutiae templates and capture records.", no_args_is_help=True
)


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
