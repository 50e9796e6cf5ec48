"""Throughput and latency over time, from Locust's `--csv-full-history` stats history."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

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
