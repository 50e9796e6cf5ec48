"""`satupintu bench ...`: every benchmark registers its command on this group."""

from __future__ import annotations

import typer

bench_app = typer.Typer(help="Measure speed, accuracy and load; results go to benchmarks/results/.")
