"""Where every benchmark writes its results: one directory, chosen once per run.

The default is `benchmarks/results` under the current directory, so a run from a checkout
updates the committed results and an installed package never writes into site-packages;
`satupintu-bench --out DIR` sends a run elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEFAULT = Path("benchmarks") / "results"

_chosen: Path | None = None


def choose(path: Path | None) -> None:
    """Fix the results directory for this process (None restores the default)."""
    global _chosen
    _chosen = path


def results_dir() -> Path:
    """The results directory, created on first use."""
    path = _chosen if _chosen is not None else Path.cwd() / DEFAULT
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(name: str, data: Any, also: Path | None = None) -> None:
    """Write a benchmark's figures as `name` in the results directory, and to `also` (the
    command's `--json FILE`) when given."""
    text = json.dumps(data, indent=2) + "\n"
    (results_dir() / name).write_text(text)
    if also is not None:
        also.write_text(text)
