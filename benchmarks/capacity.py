"""A capacity model of the national fleet, fed by this project's measured figures.

Inputs, all read from the results directory (run their benchmarks first):
- `coarse_recall.json`: shortlist recall against the share of codes scanned, with its fitted
  curve log(miss) = a + b·log(share) + c·log(gallery) for the coarse stage chosen
  (`--code-cap`: the best-surrounded 24 codes a finger, under 1 KB, by default), and the
  coarse stage's cost per scanned code (ms per probe against codes scanned);
- `cluster_search_*.json`: an identify's latency in one process and through Ray shards (the
  fan-out's added time and the re-ranking's fixed cost);
- `identify_fingerprint_1000000_ivf_compact.json`, `identify_iris_1000000_flat.json`: memory
  per finger and per iris at a million, and the iris scan's cost.

The model: a national identify (or a de-duplication) must reach the recall target over the
whole gallery, so every shard scans the share of its lists the fitted curve asks for at the
national size; CPU per search = scanned codes × cost per code + fixed re-ranking + one Ray
round trip per shard. Nodes are sized for memory and for CPU at the offered load (100
identifies/s plus 1M enrolments/day, each searching both index fingers and both irises)
with utilisation held at `--utilisation`; the p95 comes from a queueing simulation of one
node's cores fed with the measured service-time spread, and the slowest of all nodes (an
identify waits for every shard). A node failure moves its shards' load to their replicas.
"""

from __future__ import annotations

import heapq
import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.coarse_recall import fit as coarse_fit
from benchmarks.output import results_dir, write_json

console = Console()
FINGERS = 570e6  # two index fingers of ~285M registered people
IRISES = 570e6
SECONDS_PER_DAY = 86_400.0


def _load(name: str) -> dict[str, Any]:
    path = results_dir() / name
    if not path.exists():
        raise typer.BadParameter(f"{path} is missing: run its benchmark first")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _largest(pattern: str) -> dict[str, Any]:
    """The run over the largest gallery with one search at a time (a fan-out's own cost,
    not queueing behind other clients)."""
    runs = [json.loads(p.read_text()) for p in results_dir().glob(pattern)]
    runs = [r for r in runs if r.get("clients", 1) == 1]
    if not runs:
        raise typer.BadParameter(f"no {pattern} in {results_dir()}: run cluster-search first")
    data: dict[str, Any] = max(runs, key=lambda r: r["gallery_fingers"])
    return data


def required_share(fit: dict[str, float], gallery: float, recall: float) -> float:
    """The share of codes to scan for `recall` at `gallery` fingers, from the fitted curve."""
    miss = 1.0 - recall
    log_share = (math.log(miss) - fit["a"] - fit["c_log_gallery"] * math.log(gallery)) / fit[
        "b_log_share"
    ]
    return min(1.0, math.exp(log_share))


def cost_per_code_ms(rows: list[dict[str, Any]], probe_codes: int) -> tuple[float, float]:
    """(fixed ms, ms per scanned code) of one probe finger's coarse stage, least squares."""
    x = np.array(
        [r["scanned_share"] * r["gallery"] * r["codes_per_finger"] * probe_codes for r in rows]
    )
    y = np.array([r["ms_per_probe"] for r in rows])
    slope, intercept = np.polyfit(x, y, 1)
    return float(max(intercept, 0.0)), float(max(slope, 1e-9))


def simulate_node_p95(
    *,
    cores: int,
    tasks_per_search: int,
    service_ms: np.ndarray,
    rate_per_s: float,
    searches: int = 4000,
    seed: int = 0,
) -> np.ndarray:
    """Latency of one node's part of each search: `tasks_per_search` shard tasks (one per
    shard the node holds) on `cores` FIFO servers, Poisson arrivals; service times drawn
    from the measured spread. Returns the per-search completion times (ms)."""
    rng = np.random.default_rng(seed)
    free = [0.0] * cores
    heapq.heapify(free)
    t = 0.0
    out = np.empty(searches)
    for n in range(searches):
        t += rng.exponential(1000.0 / rate_per_s)
        done = t
        for s in rng.choice(service_ms, tasks_per_search):
            start = max(t, heapq.heappop(free))
            end = start + float(s)
            heapq.heappush(free, end)
            done = max(done, end)
        out[n] = done - t
    return out[searches // 10 :]  # drop the warm-up


def capacity_command(
    node_cores: Annotated[int, typer.Option(help="Cores of a node.")] = 64,
    node_memory_gb: Annotated[float, typer.Option(help="Memory of a node (GB).")] = 512.0,
    usable_memory: Annotated[float, typer.Option(help="Share of memory for shards.")] = 0.7,
    identifies_per_s: Annotated[float, typer.Option(help="National identifies a second.")] = 100.0,
    enrolments_per_day: Annotated[float, typer.Option(help="De-duplications a day.")] = 1e6,
    recall: Annotated[float, typer.Option(help="Shortlist recall target.")] = 0.99,
    utilisation: Annotated[float, typer.Option(help="CPU utilisation planned.")] = 0.6,
    replicas: Annotated[int, typer.Option(help="Replicas of every shard.")] = 2,
    probe_codes: Annotated[int, typer.Option(help="Probe codes a finger sends.")] = 32,
    code_cap: Annotated[
        int, typer.Option(help="Codes a finger keeps in the coarse stage (0: all).")
    ] = 24,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
) -> None:
    """Nodes, p95 and the cost of a node failure for 570M fingers and 570M irises."""
    coarse = _load("coarse_recall.json")
    search = _largest("cluster_search_*.json")
    finger_1m = _load("identify_fingerprint_1000000_ivf_compact.json")
    iris_1m = _load("identify_iris_1000000_flat.json")
    all_rows = [r for r in coarse["rows"] if r["code_cap"] == (code_cap or None)]
    if not all_rows:
        raise typer.BadParameter(f"coarse_recall.json has no rows with {code_cap} codes")
    fit = coarse_fit(all_rows)
    fixed_ms, per_code_ms = cost_per_code_ms(all_rows, probe_codes)
    share = required_share(fit, FINGERS, recall)
    codes_per_finger = float(np.mean([r["codes_per_finger"] for r in all_rows]))
    # The 1M run kept every code; a finger keeping fewer saves their codes and ids.
    finger_bytes = finger_1m["rss_bytes_per_finger"] - (
        finger_1m["codes_per_finger"] - codes_per_finger
    ) * (all_rows[0]["bytes_per_finger"] / codes_per_finger)
    scanned = share * FINGERS * codes_per_finger * probe_codes  # per probe finger
    # Re-ranking and the fan-out, measured: one in-process identify at the largest size
    # minus its coarse stage; the Ray round trips from the sharded runs.
    run = max(search["runs"], key=lambda r: r["shards"])
    single_p50 = run["single_p50_ms"]
    measured_coarse = fixed_ms + per_code_ms * (
        search["gallery_fingers"]
        * codes_per_finger
        * probe_codes
        * (search["settings"]["ivf_probe"] / search["settings"]["ivf_lists"])
    )
    rerank_ms = max(single_p50 - measured_coarse, 0.0)
    fanout_ms = max(run["sharded_p50_ms"] - single_p50, 0.0)
    finger_cpu_ms = 2 * (fixed_ms + per_code_ms * scanned) + rerank_ms  # two index fingers
    iris_scan_ms_per_code = iris_1m["p50_ms"] / iris_1m["gallery"]
    iris_cpu_ms = 2 * iris_scan_ms_per_code * IRISES  # both eyes, flat scan
    searches_per_s = identifies_per_s + enrolments_per_day / SECONDS_PER_DAY
    cpu_cores = searches_per_s * (finger_cpu_ms + iris_cpu_ms) / 1000.0
    memory_gb = (FINGERS * finger_bytes + IRISES * iris_1m["rss_bytes_per_finger"]) * replicas / 1e9
    nodes_cpu = math.ceil(cpu_cores * replicas / replicas / (node_cores * utilisation))
    nodes_memory = math.ceil(memory_gb / (node_memory_gb * usable_memory))
    nodes = max(nodes_cpu, nodes_memory, 2 * replicas)
    # One node's share of a search: its shards (one per core) each scan their slice.
    per_task_ms = (finger_cpu_ms + iris_cpu_ms) / (nodes * node_cores)
    spread = np.asarray(run.get("single_samples_ms") or [single_p50]) / single_p50
    node_lat = simulate_node_p95(
        cores=node_cores,
        tasks_per_search=node_cores,
        service_ms=per_task_ms * np.clip(spread, 0.5, 5.0),
        rate_per_s=searches_per_s,
    )
    # An identify waits for its slowest node: P(max ≤ x) = F(x) ** nodes.
    p95 = float(np.quantile(node_lat, 0.95 ** (1.0 / nodes))) + fanout_ms
    failed_util = utilisation * nodes / (nodes - 1)
    out = {
        "inputs": {
            "fingers": FINGERS,
            "irises": IRISES,
            "node_cores": node_cores,
            "node_memory_gb": node_memory_gb,
            "usable_memory": usable_memory,
            "identifies_per_s": identifies_per_s,
            "enrolments_per_day": enrolments_per_day,
            "recall": recall,
            "utilisation": utilisation,
            "replicas": replicas,
            "probe_codes": probe_codes,
            "code_cap": code_cap,
        },
        "measured": {
            "fit": fit,
            "coarse_fixed_ms": fixed_ms,
            "coarse_ms_per_code": per_code_ms,
            "codes_per_finger": codes_per_finger,
            "rerank_ms": rerank_ms,
            "fanout_ms": fanout_ms,
            "iris_ms_per_code": iris_scan_ms_per_code,
            "finger_rss_bytes_all_codes": finger_1m["rss_bytes_per_finger"],
            "finger_bytes_with_cap": finger_bytes,
            "coarse_sizes": sorted({r["gallery"] for r in all_rows}),
            "iris_rss_bytes": iris_1m["rss_bytes_per_finger"],
            "cluster_search_gallery": search["gallery_fingers"],
        },
        "model": {
            "required_share": share,
            "codes_scanned_per_probe_finger": scanned,
            "finger_cpu_ms_per_search": finger_cpu_ms,
            "iris_cpu_ms_per_search": iris_cpu_ms,
            "searches_per_s": searches_per_s,
            "cpu_cores_busy": cpu_cores,
            "memory_gb_with_replicas": memory_gb,
            "nodes_for_cpu": nodes_cpu,
            "nodes_for_memory": nodes_memory,
            "nodes": nodes,
            "p95_ms": p95,
            "utilisation_after_node_failure": failed_util,
            "shards_to_reload_after_failure_gb": memory_gb / nodes,
        },
    }
    table = Table(title=f"national fleet, nodes of {node_cores} cores / {node_memory_gb:g} GB")
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for k, v in out["model"].items():
        table.add_row(k, f"{v:,.4g}" if isinstance(v, float) else f"{v:,}")
    console.print(table)
    _plot(out, fit, all_rows)
    write_json("capacity.json", out, json_out)


def _plot(out: dict[str, Any], fit: dict[str, float], rows: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    galleries = np.logspace(4, math.log10(FINGERS), 40)
    for target in (0.95, 0.99):
        left.plot(
            galleries,
            [required_share(fit, g, target) for g in galleries],
            label=f"fitted, recall {target}",
        )
    for n in sorted({r["gallery"] for r in rows}):
        pts = [r for r in rows if r["gallery"] == n]
        left.scatter(
            [n] * len(pts),
            [r["scanned_share"] for r in pts],
            s=12,
            c=[r["recall"] for r in pts],
            cmap="viridis",
            vmin=0.9,
            vmax=1.0,
        )
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("gallery (fingers)")
    left.set_ylabel("share of codes scanned")
    left.set_title("Scan needed for the recall target (dots: measured)")
    left.legend(fontsize=8)
    m = out["model"]
    parts = {
        "fingers (CPU)": out["model"]["nodes_for_cpu"],
        "memory": out["model"]["nodes_for_memory"],
    }
    right.bar(list(parts), list(parts.values()), color=["tab:blue", "tab:orange"])
    right.set_ylabel("nodes")
    right.set_title(f"Nodes needed: {m['nodes']} (p95 {m['p95_ms']:.0f} ms)")
    fig.tight_layout()
    fig.savefig(results_dir() / "capacity.png", dpi=120)
    plt.close(fig)
