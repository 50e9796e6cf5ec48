"""`satupintu bench ...`: every benchmark registers its command on this group."""

from __future__ import annotations

import typer

from benchmarks.accuracy import accuracy_command
from benchmarks.compare import compare_command
from benchmarks.extract import extract_command
from benchmarks.identify import identify
from benchmarks.iris_report import iris_report_command
from benchmarks.iris_speed import iris_speed_command
from benchmarks.load.run import load_command, payout_command
from benchmarks.security import security_command
from benchmarks.simulation import simulate_command
from benchmarks.verify import verify_command

bench_app = typer.Typer(help="Measure speed, accuracy and load; results go to benchmarks/results/.")
bench_app.command("extract")(extract_command)
bench_app.command("identify")(identify)
bench_app.command("accuracy")(accuracy_command)
bench_app.command("compare")(compare_command)
bench_app.command("security")(security_command)
bench_app.command("verify")(verify_command)
bench_app.command("load")(load_command)
bench_app.command("payout")(payout_command)
bench_app.command("simulate")(simulate_command)
bench_app.command("iris-speed")(iris_speed_command)
bench_app.command("iris-report")(iris_report_command)
