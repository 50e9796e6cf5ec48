"""The fingerprint codes' whitening, shipped as a versioned data file checked by its SHA-256.

The mean descriptor and the within-finger whitening (see `matcher.index.whitening_training`)
decide every enrolled code, so they are data of the release, not something each process
learns again from the synthetic generator: a change to the generator cannot silently change
the codes of a running register. `satupintu index whitening` makes the file and its manifest;
the manifest records the file's hash and the encoder parameters it was learned for, and
loading refuses a file whose bytes or parameters do not match.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from matcher.index.base import IndexFailure

VERSION = 1
DATA_FILE = f"localsimhash_whitening_v{VERSION}.npz"
MANIFEST = f"localsimhash_whitening_v{VERSION}.json"


class WhiteningMismatch(IndexFailure):
    """The shipped whitening is missing, altered, or learned for other encoder parameters."""


@dataclass(frozen=True)
class CodeWhitening:
    """Population mean of the descriptors and the whitening matrix (None: plain codes)."""

    mean: NDArray[np.float64]
    matrix: NDArray[np.float64] | None

    def to_bytes(self) -> bytes:
        arrays = {"mean": self.mean}
        if self.matrix is not None:
            arrays["matrix"] = self.matrix
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CodeWhitening:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            matrix = arrays["matrix"] if "matrix" in arrays.files else None
            return cls(mean=arrays["mean"], matrix=matrix)


def write(whitening: CodeWhitening, key: dict[str, Any], recipe: str, folder: Path) -> Path:
    """Write the data file and its manifest (hash, parameters, recipe) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    data = whitening.to_bytes()
    (folder / DATA_FILE).write_bytes(data)
    manifest = {
        "version": VERSION,
        "file": DATA_FILE,
        "sha256": hashlib.sha256(data).hexdigest(),
        "parameters": key,
        "recipe": recipe,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def read(folder: Traversable) -> tuple[dict[str, Any], CodeWhitening]:
    """The whitening in `folder` and the parameters it was learned for, its hash checked."""
    try:
        manifest = json.loads(folder.joinpath(MANIFEST).read_text())
        data = folder.joinpath(str(manifest["file"])).read_bytes()
    except (OSError, KeyError, ValueError) as exc:
        raise WhiteningMismatch(f"the shipped code whitening is unreadable: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise WhiteningMismatch(f"{manifest['file']} does not match the hash in {MANIFEST}")
    return dict(manifest["parameters"]), CodeWhitening.from_bytes(data)


@cache
def _shipped() -> tuple[dict[str, Any], CodeWhitening]:
    return read(resources.files("matcher.index").joinpath("data"))


def shipped_whitening(key: dict[str, Any]) -> CodeWhitening:
    """The shipped whitening, if it was learned for exactly these encoder parameters."""
    parameters, whitening = _shipped()
    if parameters != key:
        raise WhiteningMismatch(
            "the shipped code whitening was learned for other encoder parameters; "
            "pass one learned for these (matcher.index.whitening_training.learn_whitening)"
        )
    return whitening
