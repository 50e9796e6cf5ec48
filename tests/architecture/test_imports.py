"""The dependency rules of pyproject.toml's import-linter contracts hold: matcher and the bank
adapters stay independent of the gateway, the server never imports the benchmarks, and the
gateway's packages import one way down their layers, without cycles."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "matcher", "adapters", "benchmarks")


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from importlinter.cli import lint_imports_command as c; c()",
            "--no-cache",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
    )


def test_the_import_contracts_are_kept() -> None:
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # Upward: the key ring reaching for the payout ledger.
        ("gateway/crypto/nik.py", "from gateway.payouts import ledger", "is layered"),
        # A cycle inside one package: the engine importing what imports it.
        ("gateway/biometrics/captures.py", "from gateway.biometrics import engine", "one gateway"),
    ],
)
def test_an_upward_import_or_a_cycle_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / module).open("a") as source:
        source.write(f"\n{line}  # noqa: E402\n")
    run = _lint_imports(tmp_path)
    assert run.returncode != 0
    contract = next(row for row in run.stdout.splitlines() if broken in row)
    assert " BROKEN" in contract, run.stdout[-3000:]
