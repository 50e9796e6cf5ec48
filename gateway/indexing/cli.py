"""`satupintu index`: rebuild the 1:N indexes offline, and show what their snapshots hold."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from gateway.crypto.runtime import open_runtime
from gateway.indexing import repository
from gateway.indexing.wiring import build_applier
from matcher.index.local_codes import LocalCodeParams, whitening_key
from matcher.index.snapshot import SnapshotError, read_snapshot
from matcher.index.whitening import write as write_whitening
from matcher.index.whitening_training import learn_whitening, recipe

index_app = typer.Typer(help="The 1:N indexes (derived from the database).", no_args_is_help=True)
console = Console()


@index_app.command("rebuild")
def rebuild() -> None:
    """Rebuild every index from the stored templates and write fresh snapshots.

    For a changed index setting (type, IVF lists), a refused snapshot, or IVF centroids to be
    learned again from a register that has grown. Running gateways keep serving their own
    indexes; each picks the new snapshot up at its next start and replays what followed it.
    """
    with open_runtime() as rt:
        applier = build_applier(rt.settings, rt.session_factory)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(modality: str, done: int, total: int | None) -> None:
                if modality not in tasks:
                    tasks[modality] = bar.add_task(f"{modality} templates", total=total)
                bar.update(tasks[modality], completed=done, total=total)

            applier.rebuild(progress)
        applier.save()
    table = Table(title="indexes rebuilt")
    for column in ("modality", "persons", "snapshot"):
        table.add_column(column)
    for modality, identifier in applier.identifiers.items():
        path = applier.snapshot_path(modality)
        table.add_row(modality, str(len(identifier)), str(path) if path else "-")
    console.print(table)


@index_app.command("status")
def status() -> None:
    """Each snapshot's contents and how many index events it is behind the database."""
    with open_runtime() as rt:
        applier = build_applier(rt.settings, rt.session_factory)
        with rt.session_factory() as session:
            last = repository.last_event_id(session)
    table = Table(title=f"index snapshots (database at event {last})")
    for column in ("modality", "index", "samples", "codes", "centroids", "behind", "state"):
        table.add_column(column)
    for modality in applier.factory.modalities:
        path = applier.snapshot_path(modality)
        if path is None or not path.exists():
            table.add_row(modality, "-", "-", "-", "-", "-", "no snapshot: rebuilt at start")
            continue
        try:
            header, _rows, _centroids = read_snapshot(path)
        except SnapshotError as exc:
            table.add_row(modality, "-", "-", "-", "-", "-", f"refused ({exc.code})")
            continue
        wanted = "ivf" if applier.factory.needs_centroids(modality) else "flat"
        state = (
            "usable"
            if header["index_type"] == wanted
            else f"rebuilt at start (settings ask for {wanted})"
        )
        table.add_row(
            modality,
            str(header["index_type"]),
            str(header["samples"]),
            str(header["codes"]),
            str(header["centroids"]),
            str(last - int(header["last_event_id"])),
            state,
        )
    console.print(table)


@index_app.command("whitening")
def whitening(
    out: Path = typer.Option(
        Path("matcher/index/data"), help="Folder for the data file and its manifest."
    ),
) -> None:
    """Learn the fingerprint codes' whitening from seeded synthetic fingers and write the
    versioned data file the package ships, with its SHA-256 in the manifest.

    Run from a checkout after changing the encoder's descriptor parameters or the training
    recipe; enrolled codes change with it, so rebuild the indexes (`satupintu index rebuild`).
    """
    params = LocalCodeParams()
    with console.status(f"learning from {params.training_fingers} synthetic fingers"):
        learned = learn_whitening(params)
    manifest = write_whitening(learned, whitening_key(params), recipe(params), out)
    console.print(f"wrote {manifest} and the data file it names")
