"""`satupintu-bench ...`: every benchmark registers its command on this group.

A script of its own, not a group of `satupintu`, so the server's command line never imports
the benchmarks or their dependencies (psutil, Locust, matplotlib): they come with the
`bench` extra, and a production install has neither.
"""

from __future__ import annotations

from pathlib import Path

import typer

from benchmarks import output
from benchmarks.accuracy import accuracy_command
from benchmarks.bank_faults import bank_faults_command
from benchmarks.calibration_margin import calibration_margin_command
from benchmarks.capacity import capacity_command
from benchmarks.cluster import (
    cluster_search_command,
    shard_failure_command,
    shard_routing_command,
)
from benchmarks.coarse_recall import coarse_recall_command
from benchmarks.compare import compare_command
from benchmarks.console import console_command
from benchmarks.cross_vendor import cross_vendor_command
from benchmarks.extract import extract_command
from benchmarks.fusion_rules import fusion_rules_command
from benchmarks.identify import identify
from benchmarks.iris_report import iris_report_command
from benchmarks.iris_speed import iris_speed_command
from benchmarks.iris_tune import iris_tune_command
from benchmarks.load.run import load_command, payout_command
from benchmarks.mutation import mutation_command
from benchmarks.pair_scores import pair_scores_command
from benchmarks.reextract import reextract_command
from benchmarks.security import security_command
from benchmarks.simulation import simulate_command
from benchmarks.tune_extract import tune_extract_command
from benchmarks.verify import verify_command

bench_app = typer.Typer(
    help="Measure speed, accuracy and load; results go to ./benchmarks/results or --out.",
    no_args_is_help=True,
)


@bench_app.callback()
def _results(
    out: Path = typer.Option(
        None, help="Directory for result files (default: ./benchmarks/results)."
    ),
) -> None:
    """Choose the one results directory every benchmark of this run writes to."""
    output.choose(out)


bench_app.command("extract")(extract_command)
bench_app.command("identify")(identify)
bench_app.command("accuracy")(accuracy_command)
bench_app.command("compare")(compare_command)
bench_app.command("cross-vendor")(cross_vendor_command)
bench_app.command("fusion-rules")(fusion_rules_command)
bench_app.command("pair-scores")(pair_scores_command)
bench_app.command("calibration-margin")(calibration_margin_command)
bench_app.command("security")(security_command)
bench_app.command("verify")(verify_command)
bench_app.command("reextract")(reextract_command)
bench_app.command("load")(load_command)
bench_app.command("payout")(payout_command)
bench_app.command("simulate")(simulate_command)
bench_app.command("bank-faults")(bank_faults_command)
bench_app.command("iris-speed")(iris_speed_command)
bench_app.command("tune-extract")(tune_extract_command)
bench_app.command("iris-report")(iris_report_command)
bench_app.command("iris-tune")(iris_tune_command)
bench_app.command("mutation")(mutation_command)
bench_app.command("cluster-search")(cluster_search_command)
bench_app.command("shard-failure")(shard_failure_command)
bench_app.command("coarse-recall")(coarse_recall_command)
bench_app.command("capacity")(capacity_command)
bench_app.command("shard-routing")(shard_routing_command)
bench_app.command("console")(console_command)
