"""`satupintu synth ...`: write synthetic biometric databases with ground truth."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from matcher.synthetic.fvc import TRUTH_DIR, write_database
from matcher.synthetic.impressions import QUALITY_PRESETS

synth_app = typer.Typer(help="Synthetic biometric data with ground truth.", no_args_is_help=True)


@synth_app.command("fingerprints")
def fingerprints(
    out: Path = typer.Argument(..., file_okay=False, help="Folder to write (created if absent)."),
    fingers: int = typer.Option(10, "--fingers", min=1, help="Number of distinct fingers."),
    impressions: int = typer.Option(8, "--impressions", min=1, help="Impressions per finger."),
    seed: int = typer.Option(0, help="Base seed: finger f is master seed + f."),
    first: int = typer.Option(1, help="Number of the first finger (FVC uses 101)."),
    quality: str = typer.Option(
        "moderate", help=f"Capture conditions: {', '.join(QUALITY_PRESETS)}."
    ),
    workers: int = typer.Option(
        min(2, os.cpu_count() or 1), help="Worker processes rendering fingers in parallel."
    ),
) -> None:
    """Write an FVC-layout folder `{finger}_{impression}.png` plus truth/*.json minutiae."""
    if quality not in QUALITY_PRESETS:
        raise typer.BadParameter(
            f"choose one of {', '.join(QUALITY_PRESETS)}", param_hint="quality"
        )
    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]synthetic fingerprints"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("images"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("render", total=fingers * impressions)
        written = write_database(
            out,
            fingers=fingers,
            impressions=impressions,
            seed=seed,
            first_finger=first,
            workers=workers,
            params=QUALITY_PRESETS[quality],
            on_finger=lambda n: progress.advance(task, n),
        )
    console.print(f"wrote {written} images to {out} (ground truth in {out / TRUTH_DIR})")
