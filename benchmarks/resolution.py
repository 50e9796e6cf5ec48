"""Capture resolution of a benchmark database: declared, never guessed from its name.

A folder name says nothing reliable about the sensor (two competitions both call a set
`DB2_B`, at 569 and at 500 dpi), so the resolution comes, first match wins, from

1. `--dpi NAME=N` on the command line (one database);
2. a metadata file passed with `--dpi-file FILE`: JSON `{"NAME": N, ...}`;
3. a `dataset.json` beside the images holding `{"resolution_dpi": N}`;
4. `--dpi N` on the command line (every database);

and otherwise the nominal 500 dpi of the extractor (`None`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

METADATA = "dataset.json"

# The two command-line options every benchmark that reads image databases takes.
DpiOption = Annotated[
    list[str] | None,
    typer.Option(help="Capture resolution: N for all, NAME=N for one database."),
]
DpiFileOption = Annotated[
    Path | None,
    typer.Option(help='JSON {"NAME": dpi} of the databases\' capture resolutions.'),
]


@dataclass(frozen=True)
class Resolutions:
    """The declared resolutions of one benchmark run."""

    everywhere: int | None = None
    named: dict[str, int] = field(default_factory=dict)
    from_file: dict[str, int] = field(default_factory=dict)

    def of(self, name: str, folder: Path) -> int | None:
        """The resolution of database `name` whose images are in `folder` (None = 500 dpi)."""
        if name in self.named:
            return self.named[name]
        if name in self.from_file:
            return self.from_file[name]
        beside = _beside(folder / METADATA)
        return beside if beside is not None else self.everywhere


def _dpi(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise typer.BadParameter(f"{where}: resolution must be a positive integer, got {value!r}")
    return value


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"{path}: not a readable JSON file ({exc})") from exc


def _beside(path: Path) -> int | None:
    if not path.is_file():
        return None
    data = _read_json(path)
    if not isinstance(data, dict) or "resolution_dpi" not in data:
        raise typer.BadParameter(f'{path}: expected {{"resolution_dpi": N}}')
    return _dpi(data["resolution_dpi"], str(path))


def parse(options: Sequence[str], dpi_file: Path | None = None) -> Resolutions:
    """`--dpi 569` (every database), `--dpi DB2_B=569` (one, repeatable) and `--dpi-file`."""
    everywhere: int | None = None
    named: dict[str, int] = {}
    for option in options:
        name, sep, value = option.rpartition("=")
        if not value.isdigit() or int(value) <= 0:
            raise typer.BadParameter(f"--dpi {option!r}: expected N or NAME=N")
        if sep:
            named[name] = int(value)
        else:
            everywhere = int(value)
    from_file: dict[str, int] = {}
    if dpi_file is not None:
        data = _read_json(dpi_file)
        if not isinstance(data, dict):
            raise typer.BadParameter(f'{dpi_file}: expected {{"NAME": N, ...}}')
        from_file = {str(k): _dpi(v, f"{dpi_file} [{k}]") for k, v in data.items()}
    return Resolutions(everywhere, named, from_file)
