"""Sharded 1:N search on Ray: latency against one index, and a shard killed mid-stream.

The gallery: `--real` synthetic fingers generated and prepared like the identify benchmark's
(mated probes come from them), topped up to `--gallery` with filler fingers that reuse a
real finger's stored template under a new person id but carry random balanced codes, so
they cost the coarse stage what a finger costs (a finger's code count, in the probed IVF
lists) and vote like unrelated fingers. Say so when quoting the figures: the re-ranked
shortlist holds mostly real fingers.

`cluster-search`: the same probes through one in-process index and through 2 and 4 shards
in local Ray workers (one replica each), interleaved so both meet the same machine load;
`--clients` threads search at once (the single index serves them concurrently too; the
coordinator batches their requests per shard); p50/p95 per identify, the added p95, the
calls the shards received per identify, and the sharded top-k asserted equal to the single
index's for every probe. `shard-failure`: 2 shards × 2 replicas answer a stream of
identifies while enrolments arrive; both replicas of one shard are killed, come back from
its snapshot and are replayed; each answer is classified as the gateway would answer it
(match, no match, 503 "try again") and the timeline is plotted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import faiss
import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from benchmarks.identify import FINGER, Probe, build_gallery, synthetic_probes
from benchmarks.output import results_dir, write_json
from matcher.index.base import Enrolment, IndexEvent, RegionCode, SearchResult
from matcher.index.buckets import train_ivf_centroids
from matcher.index.gallery import GalleryRows
from matcher.index.ids import POSITIONS
from matcher.index.settings import PROFILES, IndexSettings

console = Console()
REGIONS = 8


@dataclass(frozen=True)
class Gallery:
    rows: GalleryRows
    centroids: np.ndarray | None
    probes: list[Probe]
    real: int


def _region(person: int) -> int:
    r = person % REGIONS
    return RegionCode(province=11 + r // 2, regency=1 + r % 2).key


def make_gallery(
    *, real: int, total: int, settings: IndexSettings, probes: int, nonmated: int, workers: int
) -> Gallery:
    """Real fingers then random-coded fillers (see the module's docstring)."""
    from gateway.indexing.identifiers import shared_finger_encoder

    encoder = shared_finger_encoder()
    blobs, codes, _ = build_gallery(real, encoder, workers, True, settings.template_store)
    rng = np.random.default_rng(20261205)
    counts = np.array([len(c) for c in codes])
    fill = np.arange(total - real) % real
    filler_codes = rng.integers(0, 256, (int(counts[fill].sum()), encoder.code_bytes), np.uint8)
    persons = np.arange(total, dtype=np.int64)
    all_counts = np.r_[counts, counts[fill]]
    templates = [*blobs, *(blobs[i] for i in fill.tolist())]
    rows = GalleryRows(
        person_ids=persons,
        region_keys=np.array([_region(p) for p in range(total)], dtype=np.int64),
        positions=np.full(total, FINGER, dtype=np.int64),
        templates=templates,
        code_ids=np.repeat(persons * POSITIONS + FINGER, all_counts),
        codes=np.concatenate([*codes, filler_codes]),
        last_event_id=0,
    )
    centroids = None
    if settings.index_type == "ivf":
        real_codes = np.concatenate(codes)
        pick = rng.choice(len(real_codes), min(len(real_codes), 40 * settings.ivf_lists), False)
        with console.status(f"learning {settings.ivf_lists} IVF centroids"):
            centroids = train_ivf_centroids(real_codes[pick], settings.ivf_lists)
    return Gallery(rows, centroids, synthetic_probes(real, probes, nonmated, workers, True), real)


def split_rows(rows: GalleryRows, owner: np.ndarray, shard: int) -> GalleryRows:
    """The rows of the persons a router gives to `shard` (`owner` per sample row)."""
    sel = np.flatnonzero(owner == shard)
    code_sel = np.isin(rows.code_ids // POSITIONS, rows.person_ids[sel])
    return GalleryRows(
        person_ids=rows.person_ids[sel],
        region_keys=rows.region_keys[sel],
        positions=rows.positions[sel],
        templates=[rows.templates[i] for i in sel.tolist()],
        code_ids=rows.code_ids[code_sel],
        codes=rows.codes[code_sel],
        last_event_id=rows.last_event_id,
    )


def start_ray() -> None:
    import ray

    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            object_store_memory=512 * 1024 * 1024,
            include_dashboard=False,
            log_to_driver=False,
            # Ray starts workers 15 steps nicer than itself, so on a shared machine the
            # shards would get a fraction of the CPU the in-process index beside them gets.
            _system_config={"worker_niceness": 0},
        )


def sharded_over(
    gallery: Gallery,
    settings: IndexSettings,
    shards: int,
    replicas: int,
    snapshot_dir: Path | None = None,
    deadline_s: float = 5.0,
) -> Any:
    """A coordinator over `shards` Ray shards bulk-loaded with the gallery."""
    import ray

    from gateway.indexing.cluster.coordinator import ShardedIdentifier
    from gateway.indexing.cluster.factory import shard_actors
    from gateway.indexing.cluster.routing import PersonHashRouter
    from gateway.indexing.identifiers import IdentifierFactory

    factory = IdentifierFactory(finger_settings=settings)
    router = PersonHashRouter(shards)
    owner = np.array([router.shard_of(int(p), 0) for p in gallery.rows.person_ids])
    actors = shard_actors(
        modality="finger",
        factory=factory,
        shards=shards,
        replicas=replicas,
        centroids=gallery.centroids,
        snapshot_dir=snapshot_dir,
    )
    loads = []
    for s in range(shards):
        part = ray.put(split_rows(gallery.rows, owner, s))
        loads += [actor.bulk_load.remote(part) for actor in actors[s]]
    with console.status(f"loading {shards} shards × {replicas}"):
        ray.get(loads)
    return ShardedIdentifier(
        local=factory("finger", gallery.centroids),
        router=router,
        replicas=actors,
        deadline_s=deadline_s,
    )


def _ranked(result: SearchResult) -> list[tuple[int, float]]:
    return [(c.person_id, c.score) for c in result.candidates]


def _pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def _timed(identifier: Any, probes: Sequence[Probe], clients: int) -> list[tuple[float, Any]]:
    """Each probe searched once, `clients` at a time: (ms, result) in probe order."""

    def one(probe: Probe) -> tuple[float, Any]:
        t0 = time.perf_counter()
        result = identifier.search({FINGER: probe.template}, limit=10)
        return (time.perf_counter() - t0) * 1e3, result

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, probes))


def cluster_search_command(
    gallery: Annotated[int, typer.Option(help="Fingers in the whole gallery.")] = 100_000,
    real: Annotated[int, typer.Option(help="Of which generated, prepared fingers.")] = 3000,
    shards: Annotated[str, typer.Option(help="Shard counts to measure.")] = "2,4",
    probes: Annotated[int, typer.Option(help="Mated probes.")] = 60,
    nonmated: Annotated[int, typer.Option(help="Non-mated probes.")] = 20,
    rounds: Annotated[int, typer.Option(help="Times every probe is searched.")] = 2,
    clients: Annotated[int, typer.Option(help="Identifies in flight at once.")] = 1,
    workers: Annotated[int, typer.Option(help="Processes generating fingers.")] = 2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
) -> None:
    """p50/p95 of an identify through 2 and 4 Ray shards against one in-process index."""
    from gateway.indexing.identifiers import IdentifierFactory

    faiss.omp_set_num_threads(1)
    settings = PROFILES["regional"]
    data = make_gallery(
        real=real,
        total=gallery,
        settings=settings,
        probes=probes,
        nonmated=nonmated,
        workers=workers,
    )
    single = IdentifierFactory(finger_settings=settings)("finger", data.centroids)
    single.bulk_load(data.rows)
    start_ray()
    load = os.getloadavg()
    out: dict[str, Any] = {
        "gallery_fingers": gallery,
        "real_fingers": real,
        "filler_fingers": gallery - real,
        "settings": {
            "index_type": settings.index_type,
            "ivf_lists": settings.ivf_lists,
            "ivf_probe": settings.ivf_probe,
            "shortlist": settings.shortlist,
            "neighbours": settings.neighbours,
        },
        "probes": len(data.probes),
        "rounds": rounds,
        "clients": clients,
        "load_average_before": load,
        "runs": [],
    }
    # Chunks of a few searches per client, alternating between the two, so both meet the
    # same machine load (the other tenants of a shared machine come and go).
    step = 2 * clients
    chunks = [data.probes[i : i + step] for i in range(0, len(data.probes), step)]
    for count in [int(s) for s in shards.split(",")]:
        sharded = sharded_over(data, settings, count, 1)
        for probe in data.probes[:5]:  # warm-up: compiled kernels, actors' first calls
            single.search({FINGER: probe.template}, limit=10)
            sharded.search({FINGER: probe.template}, limit=10)
        before = dataclasses.replace(sharded.calls.stats)
        one_ms: list[float] = []
        split_ms: list[float] = []
        equal = 0
        for n in range(rounds * len(chunks)):
            chunk = chunks[n % len(chunks)]
            if n % 2:
                split, one = _timed(sharded, chunk, clients), _timed(single, chunk, clients)
            else:
                one, split = _timed(single, chunk, clients), _timed(sharded, chunk, clients)
            for probe, (a_ms, a), (b_ms, b) in zip(chunk, one, split, strict=True):
                one_ms.append(a_ms)
                split_ms.append(b_ms)
                if _ranked(a) != _ranked(b) or not b.complete:
                    raise AssertionError(f"sharded top-k differs for probe {probe.mate}")
                equal += 1
        stats = sharded.calls.stats
        calls, requests = stats.calls - before.calls, stats.requests - before.requests
        out["runs"].append(
            {
                "shards": count,
                "fingers_per_shard": gallery // count,
                "single_p50_ms": _pct(one_ms, 50),
                "single_p95_ms": _pct(one_ms, 95),
                "sharded_p50_ms": _pct(split_ms, 50),
                "sharded_p95_ms": _pct(split_ms, 95),
                "added_p95": _pct(split_ms, 95) / _pct(one_ms, 95) - 1.0,
                "top_k_equal": equal,
                "searches": len(split_ms),
                "shard_requests": requests,
                "shard_calls": calls,
                "calls_per_identify_per_shard": calls / len(split_ms) / count,
                "largest_batch": stats.largest_batch,
                "single_samples_ms": one_ms,
                "sharded_samples_ms": split_ms,
            }
        )
        _kill_all(sharded)
    out["load_average_after"] = os.getloadavg()
    _table_search(out)
    suffix = f"_{clients}clients" if clients > 1 else ""
    write_json(f"cluster_search_{gallery}{suffix}.json", out, json_out)


def _kill_all(sharded: Any) -> None:
    import ray

    for actors in sharded.replicas:
        for actor in actors:
            ray.kill(actor, no_restart=True)


def _table_search(out: dict[str, Any]) -> None:
    table = Table(
        title=f"identify over {out['gallery_fingers']:,} fingers ({out['real_fingers']:,} real),"
        f" {out['clients']} at once"
    )
    for col in (
        "shards",
        "single p50",
        "single p95",
        "sharded p50",
        "sharded p95",
        "added p95",
        "calls/identify/shard",
        "top-k equal",
    ):
        table.add_column(col, justify="right")
    for r in out["runs"]:
        table.add_row(
            str(r["shards"]),
            f"{r['single_p50_ms']:.1f} ms",
            f"{r['single_p95_ms']:.1f} ms",
            f"{r['sharded_p50_ms']:.1f} ms",
            f"{r['sharded_p95_ms']:.1f} ms",
            f"{r['added_p95']:+.0%}",
            f"{r['calls_per_identify_per_shard']:.2f}",
            f"{r['top_k_equal']}/{r['searches']}",
        )
    console.print(table)
    console.print(
        f"load average before/after: {out['load_average_before']} / {out['load_average_after']}"
    )


def shard_failure_command(
    gallery: Annotated[int, typer.Option(help="Fingers in the whole gallery.")] = 40_000,
    real: Annotated[int, typer.Option(help="Of which generated, prepared fingers.")] = 2000,
    seconds: Annotated[float, typer.Option(help="Length of the identify stream.")] = 60.0,
    kill_at: Annotated[float, typer.Option(help="When both replicas of shard 1 die (s).")] = 15.0,
    replay_every: Annotated[float, typer.Option(help="The gateway's event poll (s).")] = 2.0,
    workers: Annotated[int, typer.Option(help="Processes generating fingers.")] = 2,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
) -> None:
    """A shard killed during a stream of identifies: partial answers, then snapshot + replay."""
    import ray

    faiss.omp_set_num_threads(1)
    settings = PROFILES["regional"]
    data = make_gallery(
        real=real, total=gallery, settings=settings, probes=40, nonmated=10, workers=workers
    )
    start_ray()
    snapshots = Path(tempfile.mkdtemp(prefix="satupintu-shards-"))
    sharded = sharded_over(data, settings, 2, 2, snapshot_dir=snapshots, deadline_s=2.0)
    with console.status("writing shard snapshots, warming the actors up"):
        sharded.save_snapshots()
        for probe in data.probes[:10]:  # the actors' first calls load compiled kernels
            sharded.search({FINGER: probe.template}, limit=5)
    # Enrolments keep arriving: new persons re-using real templates (their own codes).
    from gateway.indexing.identifiers import IdentifierFactory

    codec = IdentifierFactory(finger_settings=settings)("finger", data.centroids).codec
    events: list[IndexEvent[Any]] = []
    lock = threading.Lock()
    stop = threading.Event()
    marks: dict[str, float] = {}
    started = time.monotonic()

    def enrol_and_replay() -> None:
        """The gateway's side: enrolments become events; every poll replays what a shard
        has not applied (a restarted one starts after its snapshot)."""
        n = 0
        while not stop.wait(replay_every):
            with lock:
                for _ in range(5):
                    pid = gallery + n
                    template = codec.from_bytes(data.rows.templates[n % real])
                    events.append(
                        IndexEvent(
                            len(events) + 1,
                            pid,
                            Enrolment(pid, RegionCode.from_key(_region(pid)), {FINGER: template}),
                        )
                    )
                    n += 1
                after = sharded.last_event_id
                sharded.apply(events[after:])

    def kill() -> None:
        time.sleep(kill_at)
        marks["killed"] = time.monotonic() - started
        for actor in sharded.replicas[1]:
            ray.kill(actor, no_restart=False)

    threads = [threading.Thread(target=enrol_and_replay), threading.Thread(target=kill)]
    for t in threads:
        t.start()
    timeline: list[dict[str, Any]] = []
    errors: list[str] = []
    owner_of = {
        p.mate: sharded.router.shard_of(p.mate, 0) for p in data.probes if p.mate is not None
    }
    i = 0
    while time.monotonic() - started < seconds:
        probe = data.probes[i % len(data.probes)]
        i += 1
        t0 = time.monotonic()
        try:
            result = sharded.search({FINGER: probe.template}, limit=5)
            answer = _gateway_answer(result, probe.mate)
        except Exception as exc:  # a 500 in the gateway: counted, never expected
            answer, result = f"500 {type(exc).__name__}", None
            errors.append(traceback.format_exc())
        timeline.append(
            {
                "t": t0 - started,
                "ms": (time.monotonic() - t0) * 1e3,
                "answer": answer,
                "complete": result is not None and result.complete,
                "mate_shard": None if probe.mate is None else owner_of.get(probe.mate),
            }
        )
    stop.set()
    for t in threads:
        t.join()
    partial = [r["t"] for r in timeline if not r["complete"]]
    out = {
        "gallery_fingers": gallery,
        "real_fingers": real,
        "shards": 2,
        "replicas": 2,
        "identifies": len(timeline),
        "killed_at_s": marks.get("killed"),
        "first_partial_s": min(partial) if partial else None,
        "last_partial_s": max(partial) if partial else None,
        "partial_answers": len(partial),
        "answers": {
            a: sum(r["answer"] == a for r in timeline) for a in {r["answer"] for r in timeline}
        },
        "server_errors_5xx_except_503": sum(r["answer"].startswith("500") for r in timeline),
        "errors": errors,
        "complete_but_mate_not_first": sum(
            r["answer"] == "200 not_found" and r["mate_shard"] is not None for r in timeline
        ),
        "events_replayed": len(events),
        "load_average": os.getloadavg(),
        "timeline": timeline,
    }
    _plot_failure(out)
    summary = {k: v for k, v in out.items() if k != "timeline"}
    console.print_json(json.dumps(summary))
    write_json("cluster_shard_failure.json", out, json_out)
    _kill_all(sharded)


def _gateway_answer(result: SearchResult, mate: int | None) -> str:
    """How the gateway answers: a person found (here: the top candidate is the probe's mate,
    whatever its FPIR — one finger over a gallery this size seldom reaches the gateway's
    1e-4), or, when nobody is found, "not found" over a complete search and 503 "try again"
    over a partial one."""
    best = result.candidates[0] if result.candidates else None
    if best is not None and mate is not None and best.person_id == mate:
        return "200 found"
    return "200 not_found" if result.complete else "503 search_incomplete"


def _plot_failure(out: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5))
    colours = {
        "200 found": "tab:green",
        "200 not_found": "tab:blue",
        "503 search_incomplete": "tab:orange",
    }
    for answer in sorted({r["answer"] for r in out["timeline"]}):
        rows = [r for r in out["timeline"] if r["answer"] == answer]
        ax.scatter(
            [r["t"] for r in rows],
            [r["ms"] for r in rows],
            s=10,
            label=answer,
            color=colours.get(answer, "tab:red"),
        )
    partial = [r for r in out["timeline"] if not r["complete"]]
    if partial:
        ax.scatter(
            [r["t"] for r in partial],
            [r["ms"] for r in partial],
            s=40,
            facecolors="none",
            edgecolors="k",
            label="flagged partial",
        )
    if out["killed_at_s"] is not None:
        ax.axvline(
            out["killed_at_s"], color="k", linestyle="--", label="both replicas of shard 1 killed"
        )
    ax.set_xlabel("time since the stream started (s)")
    ax.set_ylabel("identify latency (ms)")
    ax.set_yscale("log")
    ax.set_title(
        f"Shard failure during identifies: {out['gallery_fingers']:,} fingers, "
        "2 shards × 2 replicas"
    )
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(results_dir() / "cluster_shard_failure.png", dpi=120)
    plt.close(fig)


# Population by province (millions), Indonesia's 2020 census (BPS, Sensus Penduduk 2020,
# rounded), keyed by the NIK's province code: what region routing would put on each shard.
PROVINCE_POPULATION_M = {
    11: 5.27, 12: 14.80, 13: 5.53, 14: 6.39, 15: 3.55, 16: 8.47, 17: 2.01, 18: 9.01,
    19: 1.46, 21: 2.06, 31: 10.56, 32: 48.27, 33: 36.52, 34: 3.67, 35: 40.67, 36: 11.90,
    51: 4.32, 52: 5.32, 53: 5.33, 61: 5.41, 62: 2.67, 63: 4.07, 64: 3.77, 65: 0.70,
    71: 2.62, 72: 2.99, 73: 9.07, 74: 2.62, 75: 1.17, 76: 1.42, 81: 1.85, 82: 1.28,
    91: 4.30, 92: 1.13,
}  # fmt: skip


def shard_routing_command(
    shards: Annotated[str, typer.Option(help="Shard counts.")] = "4,8,16,32,64,128",
    persons: Annotated[int, typer.Option(help="Persons hashed (sampled register).")] = 1_000_000,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
) -> None:
    """Largest shard against the mean under region and person-hash routing.

    A national search waits for its slowest shard, whose time grows with its size, so the
    largest shard's share sets the fleet's p95; a region-scoped search asks one shard under
    region routing and every shard under hash routing."""
    from gateway.indexing.cluster.routing import PersonHashRouter, RegionRouter

    total = sum(PROVINCE_POPULATION_M.values())
    sizes = {p: int(m * 1e6) for p, m in PROVINCE_POPULATION_M.items()}
    rows = []
    for count in [int(s) for s in shards.split(",")]:
        region = RegionRouter.balanced(count, sizes)
        load = [0.0] * count
        for province, people in PROVINCE_POPULATION_M.items():
            load[region.provinces[province]] += people
        hashed = np.bincount(
            [PersonHashRouter(count).shard_of(p, 0) for p in range(persons)], minlength=count
        )
        rows.append(
            {
                "shards": count,
                "region_largest_over_mean": max(load) / (total / count),
                "region_empty_shards": sum(1 for x in load if x == 0),
                "hash_largest_over_mean": float(hashed.max() / hashed.mean()),
                "region_shards_per_scoped_search": 1,
                "hash_shards_per_scoped_search": count,
            }
        )
    table = Table(title="largest shard / mean shard, national search waits for the largest")
    for col in ("shards", "region routing", "empty (region)", "person hash"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r["shards"]),
            f"{r['region_largest_over_mean']:.2f}",
            str(r["region_empty_shards"]),
            f"{r['hash_largest_over_mean']:.3f}",
        )
    console.print(table)
    out = {"province_ratio": max(sizes.values()) / min(sizes.values()), "rows": rows}
    write_json("cluster_routing.json", out, json_out)
