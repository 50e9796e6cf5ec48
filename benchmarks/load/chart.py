"""Throughput and latency over time, from Locust's `--csv-full-history` stats history."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return float("nan")


def plot_history(history: Path, out: Path, *, title: str) -> bool:
    """Requests/s (and completed payouts/s), users and p50/p95/p99 per second; False if no data."""
    if not history.exists():
        return False
    aggregated: dict[str, list[float]] = defaultdict(list)
    payouts: dict[float, float] = defaultdict(float)
    with history.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            t = _number(row["Timestamp"])
            if row["Name"] == "Aggregated":
                aggregated["t"].append(t)
                for column in ("User Count", "Requests/s", "Failures/s", "50%", "95%", "99%"):
                    aggregated[column].append(_number(row[column]))
            elif row["Type"] == "FLOW":
                payouts[t] += _number(row["Requests/s"])
    if not aggregated["t"]:
        return False
    start = aggregated["t"][0]
    seconds = [t - start for t in aggregated["t"]]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    top.plot(seconds, aggregated["Requests/s"], label="requests/s (all, incl. flows)")
    top.plot(seconds, aggregated["Failures/s"], label="failures/s", color="tab:red")
    if payouts:
        top.plot(
            [t - start for t in sorted(payouts)],
            [payouts[t] for t in sorted(payouts)],
            label="completed payouts/s (verify + pay)",
            color="tab:green",
        )
    users = top.twinx()
    users.plot(seconds, aggregated["User Count"], color="grey", linestyle=":", label="users")
    users.set_ylabel("users")
    top.set_ylabel("per second")
    top.legend(loc="upper left")
    for column in ("50%", "95%", "99%"):
        bottom.plot(seconds, aggregated[column], label=f"p{column.rstrip('%')}")
    bottom.set_ylabel("latency (ms, 10 s window)")
    bottom.set_xlabel("seconds since start")
    bottom.legend(loc="upper left")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(out, dpi=90)
    plt.close(figure)
    return True


def plot_scaling(rows: list[dict[str, Any]], out: Path) -> None:
    """Payouts/s and CPU per payout (gateway, PostgreSQL, Locust) against gateway processes."""
    processes = [int(r["processes"]) for r in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    left.plot(processes, [r["payouts_per_s"] for r in rows], marker="o", color="tab:green")
    left.set_xlabel("gateway processes")
    left.set_ylabel("completed payouts per second")
    left.set_title("Throughput")
    left.set_xticks(processes)
    left.set_ylim(bottom=0)
    for key, label in (
        ("gateway_cpu_ms_per_payout", "gateway"),
        ("db_cpu_ms_per_payout", "PostgreSQL backends"),
        ("loadgen_cpu_ms_per_payout", "Locust"),
    ):
        values = [r.get(key) for r in rows]
        if all(v is not None for v in values):
            right.plot(processes, values, marker="o", label=label)
    right.set_xlabel("gateway processes")
    right.set_ylabel("CPU ms per completed payout")
    right.set_title("CPU per payout")
    right.set_xticks(processes)
    right.set_ylim(bottom=0)
    right.legend(loc="upper left")
    load = ", ".join(f"{r['load_average_at_start'][0]:.1f}" for r in rows)
    figure.suptitle(f"Payout wave (verify 1:1 + pay) on PostgreSQL; 1-min load average: {load}")
    figure.tight_layout()
    figure.savefig(out, dpi=90)
    plt.close(figure)
