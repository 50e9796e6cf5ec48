"""`satupintu-bench mutation`: what the last `mutmut run` found, as a report.

`make mutation` mutates the money path and the fingerprint comparator (`[tool.mutmut]` in
pyproject.toml) and runs, for each mutant, the tests that reach the mutated function. A
mutant that no test notices ("survived") is a change in behaviour the suite would let
through. This reads mutmut's per-file results under `./mutants/` and writes
`mutation.txt` (a table per file, then every survivor with its diff) and `mutation.json`
to the results directory. A run cut short by its time box leaves mutants "not checked";
they are counted, not hidden. Not part of `make test`: it runs the tests once per mutant.

Keys of `--json`: `files` (per file: `mutants`, `checked`, `killed`, `survived`,
`no_tests`, `timeout`, `not_checked`, `score` = killed / (killed + survived)), `totals`
(the same over all files), `survivors` (mutant names).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from benchmarks.output import results_dir

console = Console(width=150)

# mutmut's exit codes per mutant, as its own `results` command reads them.
_STATUS = {
    None: "not_checked",
    0: "survived",
    1: "killed",
    3: "killed",
    5: "no_tests",
    33: "no_tests",
    34: "skipped",
    36: "timeout",
    37: "killed",  # caught by the type checker
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
}
_COLUMNS = ("killed", "survived", "no_tests", "timeout", "not_checked")


def _status(code: int | None) -> str:
    return _STATUS.get(code, "suspicious")


def read_results(mutants: Path) -> dict[str, dict[str, str]]:
    """Source file -> mutant name -> status, from mutmut's `.meta` files."""
    found: dict[str, dict[str, str]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        source = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found[source] = {name: _status(code) for name, code in codes.items()}
    return found


def summarise(statuses: dict[str, str]) -> dict[str, Any]:
    """Counts by status and the score over the mutants that were decided."""
    counts = Counter(statuses.values())
    decided = counts["killed"] + counts["survived"]
    return {
        "mutants": len(statuses),
        "checked": len(statuses) - counts["not_checked"],
        **{column: counts[column] for column in _COLUMNS},
        "score": round(counts["killed"] / decided, 3) if decided else None,
    }


def _diff(name: str, source: str) -> str:
    """The mutation itself, as mutmut shows it (read from its mutated copy of `source`)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    try:
        return get_diff_for_mutant(name, path=source)
    except (FileNotFoundError, ValueError) as exc:
        return f"(diff unavailable: {exc})"


def report(mutants: Path) -> tuple[dict[str, Any], str]:
    """The JSON payload and the text report of the results under `mutants`."""
    results = read_results(mutants)
    files = {source: summarise(statuses) for source, statuses in results.items()}
    merged = {f"{s}:{n}": status for s, st in results.items() for n, status in st.items()}
    survivors = [
        (source, name)
        for source, statuses in results.items()
        for name, status in statuses.items()
        if status == "survived"
    ]
    payload: dict[str, Any] = {
        "files": files,
        "totals": summarise(merged),
        "survivors": [name for _, name in survivors],
    }
    header = f"{'file':<40} {'mutants':>8} {'checked':>8} " + " ".join(f"{c:>11}" for c in _COLUMNS)
    lines = ["Mutation testing (mutmut): surviving mutants are changes no test noticed.", ""]
    lines.append(header + f" {'score':>6}")
    for source, row in [*files.items(), ("total", payload["totals"])]:
        score = "-" if row["score"] is None else f"{row['score']:.2f}"
        cells = " ".join(f"{row[c]:>11}" for c in _COLUMNS)
        lines.append(f"{source:<40} {row['mutants']:>8} {row['checked']:>8} {cells} {score:>6}")
    lines += ["", f"Survivors ({len(survivors)}):", ""]
    for source, name in survivors:
        lines += [f"## {name}", _diff(name, source), ""]
    return payload, "\n".join(lines) + "\n"


def mutation_command(
    mutants: Path = typer.Option(
        Path("mutants"), help="mutmut's working directory (where `make mutation` ran)."
    ),
    json_file: Path = typer.Option(None, "--json", help="Also write the results here."),
) -> None:
    """Report the last mutation run: a table per file and every surviving mutant's diff."""
    if not mutants.is_dir():
        raise typer.BadParameter(f"{mutants} does not exist: run `make mutation` first")
    payload, text = report(mutants)
    table = Table(title="Mutation testing")
    for column in ("file", "mutants", "checked", *_COLUMNS, "score"):
        table.add_column(column, justify="left" if column == "file" else "right")
    for source, row in [*payload["files"].items(), ("total", payload["totals"])]:
        score = "-" if row["score"] is None else f"{row['score']:.2f}"
        table.add_row(source, *(str(row[c]) for c in ("mutants", "checked", *_COLUMNS)), score)
    console.print(table)
    out = results_dir()
    (out / "mutation.txt").write_text(text)
    encoded = json.dumps(payload, indent=2)
    (out / "mutation.json").write_text(encoded)
    if json_file is not None:
        json_file.write_text(encoded)
    console.print(f"survivors listed in {out / 'mutation.txt'}")
