"""`satupintu template ...`: inspect fingerprint template records from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from matcher.fingerprint.template_errors import TemplateFormatError
from matcher.fingerprint.templates import describe_template

template_app = typer.Typer(help="Fingerprint template records.", no_args_is_help=True)


@template_app.command("show")
def show(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="ISO/IEC 19794-2 or Satu Pintu template."
    ),
) -> None:
    """Print a record as JSON: header fields, views and every minutia (angles in degrees)."""
    try:
        doc = describe_template(file.read_bytes())
    except TemplateFormatError as exc:
        typer.echo(
            json.dumps({"error": exc.code, "field": exc.field, "message": str(exc)}), err=True
        )
        raise typer.Exit(code=2) from exc
    typer.echo(json.dumps(doc, indent=2))
