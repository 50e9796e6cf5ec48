"""Labelled sample folders: who each file belongs to, in capture order.

Two layouts are understood, because public databases use both:
- flat: the identity is the file name's part before the first underscore
  (FVC's ``{finger}_{impression}.tif``, CASIA's ``{eye}_{session}_{n}.jpg``);
- one sub-folder per identity (any file names inside).
A folder whose sub-folders each hold a flat database (``fvc2002/DB1_B``, ``DB2_B``, …) is a
collection of databases, evaluated one by one and averaged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class DatasetError(ValueError):
    """The folder holds no usable labelled samples."""

    code = "dataset_invalid"


@dataclass(frozen=True)
class Sample:
    """One file and the identity it belongs to."""

    identity: str
    path: Path


@dataclass(frozen=True)
class Database:
    """The samples of one database, grouped by identity, each group in capture order."""

    name: str
    root: Path
    identities: dict[str, list[Sample]]

    @property
    def samples(self) -> list[Sample]:
        return [s for group in self.identities.values() for s in group]


def _natural_key(text: str) -> list[int | str]:
    """Sort "2" before "10", so impression order is capture order."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _files(folder: Path, suffixes: Iterable[str]) -> list[Path]:
    wanted = {s.lower() for s in suffixes}
    return sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in wanted),
        key=lambda p: _natural_key(p.name),
    )


def read_database(folder: Path, suffixes: Iterable[str], name: str | None = None) -> Database:
    """Group a folder's samples by identity (flat or sub-folder layout, detected)."""
    suffixes = tuple(suffixes)
    groups: dict[str, list[Sample]] = {}
    flat = _files(folder, suffixes)
    if flat:
        for path in flat:
            identity = path.stem.split("_", 1)[0]
            groups.setdefault(identity, []).append(Sample(identity, path))
    else:
        for sub in sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name):
            files = _files(sub, suffixes)
            if files:
                groups[sub.name] = [Sample(sub.name, p) for p in files]
    if not groups:
        raise DatasetError(f"no {', '.join(suffixes)} samples found in {folder}")
    ordered = dict(sorted(groups.items(), key=lambda kv: _natural_key(kv[0])))
    return Database(name=name or folder.name, root=folder, identities=ordered)


def discover(root: Path, suffixes: Iterable[str]) -> list[Database]:
    """One database for a labelled folder, or one per sub-folder that is a flat database.

    Sub-folders that hold files directly and whose names split into several identities are
    databases; otherwise the sub-folders are identities of one database.
    """
    suffixes = tuple(suffixes)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    if _files(root, suffixes):
        return [read_database(root, suffixes)]
    subs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: _natural_key(p.name))
    databases = []
    for sub in subs:
        files = _files(sub, suffixes)
        if len({p.stem.split("_", 1)[0] for p in files}) > 1:
            databases.append(read_database(sub, suffixes))
    if databases and len(databases) == len([s for s in subs if _files(s, suffixes)]):
        return databases
    return [read_database(root, suffixes)]
