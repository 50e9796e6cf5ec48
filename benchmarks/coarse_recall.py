"""Shortlist recall against the share of codes scanned, at growing galleries and code counts.

An exact scan of a national gallery is out of the question, and how many IVF lists a probe
must visit for a recall target grows with the gallery. This measures, for synthetic galleries
of growing size (the coarse stage only: codes from the generator's minutiae), the share of
the mated probes whose finger reaches the shortlist, for each number of probed lists, and
the share of all codes those lists hold; and the same with each finger holding only its m
best-surrounded codes (memory per finger m × (code + id) bytes). A fitted curve,
log(miss) = a + b·log(scanned share) + c·log(gallery), is what the capacity model uses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Annotated, Any

import faiss
import numpy as np
import typer
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.identify import ENROL_IMPRESSION, FINGER, GALLERY_SEED, PROBE_IMPRESSION
from benchmarks.output import results_dir, write_json
from matcher.index.base import RegionCode
from matcher.index.buckets import train_ivf_centroids
from matcher.index.fingerprint import fingerprint_identifier
from matcher.index.gallery import GalleryRows
from matcher.index.ids import POSITIONS
from matcher.index.local_codes import LocalCodeEncoder
from matcher.index.settings import PROFILES
from matcher.synthetic.minutiae import impression, master

CACHE = Path(tempfile.gettempdir()) / "satupintu-bench" / "coarse"
console = Console()
_ENCODER = LocalCodeEncoder()
ID_BYTES = 8  # FAISS stores an int64 id next to every code


def _ranked_chunk(job: tuple[int, int, int | None]) -> list[NDArray[np.uint8]]:
    start, stop, limit = job
    return [
        _ENCODER.encode_ranked(impression(master(GALLERY_SEED + i), seed=ENROL_IMPRESSION), limit)
        for i in range(start, stop)
    ]


BLOCK = 50_000  # fingers per cache file: a long encoding resumes, and a prefix serves early


def _block_path(first: int, limit: int | None) -> Path:
    tag = hashlib.sha256(f"{_ENCODER.name}|ranked|{limit or 'all'}|v2".encode()).hexdigest()[:12]
    return CACHE / f"ranked-block{BLOCK}-{first}-{tag}.npz"


def encode_blocks(n: int, limit: int | None, workers: int) -> list[Path]:
    """Cache files holding the first `n` fingers' codes, best-surrounded first (at most
    `limit` a finger), encoding the missing ones. Blocks are written whole (renamed into
    place), so an interrupted run keeps what it finished, a smaller gallery reuses the first
    blocks of a larger one, and a second process can read finished blocks while this one
    writes more. Only the kept codes are projected, so a capped gallery costs about two
    thirds of an uncapped one."""
    CACHE.mkdir(parents=True, exist_ok=True)
    firsts = range(0, n, BLOCK)
    paths = [_block_path(first, limit) for first in firsts]
    missing = [(f, p) for f, p in zip(firsts, paths, strict=True) if not p.exists()]
    if not missing:
        return paths
    with Progress(console=console) as bar, get_context("fork").Pool(workers) as pool:
        task = bar.add_task(
            f"encoding {len(missing) * BLOCK:,} synthetic fingers", total=len(missing)
        )
        for first, path in missing:
            jobs = [(a, a + 500, limit) for a in range(first, first + BLOCK, 500)]
            block = [c for chunk in pool.imap(_ranked_chunk, jobs) for c in chunk]
            partial = path.with_suffix(".partial.npz")
            np.savez(partial, codes=np.concatenate(block), counts=[len(c) for c in block])
            partial.rename(path)
            bar.advance(task)
    return paths


def ranked_gallery(
    n: int, limit: int | None, workers: int
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """The first `n` fingers' codes, concatenated finger after finger, and each finger's
    count: one array rather than a million small ones, which would cost more in object
    headers than a capped finger's codes."""
    codes, counts = [], []
    for path in encode_blocks(n, limit, workers):
        with np.load(path) as data:
            codes.append(data["codes"])
            counts.append(data["counts"])
    all_counts = np.concatenate(counts)[:n].astype(np.int64)
    return np.concatenate(codes)[: int(all_counts.sum())], all_counts


def capped(
    codes: NDArray[np.uint8], counts: NDArray[np.int64], keep: int | None
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Each finger's first `keep` codes (all when None)."""
    if keep is None or counts.max(initial=0) <= keep:
        return codes, counts
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    rank = np.arange(len(codes)) - starts
    return np.ascontiguousarray(codes[rank < keep]), np.minimum(counts, keep)


def _probe_codes(mates: list[int]) -> list[Any]:
    return [impression(master(GALLERY_SEED + i), seed=PROBE_IMPRESSION) for i in mates]


def measure(
    gallery: tuple[NDArray[np.uint8], NDArray[np.int64]],
    n: int,
    keep: int | None,
    lists: int,
    probes: list[int],
    mates: list[int],
    mate_prints: list[Any],
) -> list[dict[str, Any]]:
    """Recall and scanned share for each probed-list count, one gallery and code cap."""
    codes, counts = gallery
    counts = counts[:n]
    all_codes, counts = capped(codes[: int(counts.sum())], counts, keep)
    rng = np.random.default_rng(0)
    sample = all_codes[rng.choice(len(all_codes), min(len(all_codes), 40 * lists), False)]
    centroids = train_ivf_centroids(sample, lists)
    settings = dataclasses.replace(PROFILES["regional"], ivf_lists=lists, ivf_probe=max(probes))
    ident = fingerprint_identifier(settings=settings, encoder=_ENCODER, ivf_centroids=centroids)
    persons = np.arange(n, dtype=np.int64)
    ident.bulk_load(
        GalleryRows(
            person_ids=persons,
            region_keys=np.full(n, RegionCode(31, 71).key, dtype=np.int64),
            positions=np.full(n, FINGER, dtype=np.int64),
            templates=[b""] * n,
            code_ids=np.repeat(persons * POSITIONS + FINGER, counts),
            codes=all_codes,
            last_event_id=0,
        )
    )
    code_bytes, total = all_codes.shape[1], len(all_codes)
    del all_codes  # the index holds its own copy; a million fingers' codes are 1.5 GB
    quantizer = faiss.IndexBinaryFlat(code_bytes * 8)
    quantizer.add(centroids)
    list_sizes = ident.ivf_list_sizes()
    assert list_sizes is not None
    probe_sets = [_ENCODER.encode_probe(p) for p in mate_prints]
    rows = []
    for nprobe in probes:
        ident.set_ivf_probe(nprobe)
        found = 0
        scanned = []
        started = time.perf_counter()
        for mate, probe, pcodes in zip(mates, mate_prints, probe_sets, strict=True):
            found += mate in ident.shortlist({FINGER: probe})
            assigned = quantizer.search(pcodes, nprobe)[1]
            scanned.append(list_sizes[assigned].sum(axis=1).mean() / total)
        rows.append(
            {
                "gallery": n,
                "codes_per_finger": float(counts.mean()),
                "code_cap": keep,
                "bytes_per_finger": float(counts.mean()) * (code_bytes + ID_BYTES),
                "lists": len(centroids),
                "probed_lists": nprobe,
                "scanned_share": float(np.mean(scanned)),
                "recall": found / len(mates),
                "ms_per_probe": (time.perf_counter() - started) * 1e3 / len(mates),
            }
        )
        console.print(rows[-1])
    return rows


def fit(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Least squares of log(miss) on log(share) and log(gallery), over misses above 0.

    A larger gallery holds more rivals for the same scanned share, so recall cannot improve
    with the gallery; a fit whose gallery term says it does (c < 0) is an artefact of sizes
    too close together or too few misses, and is refitted with c = 0 (`constrained`): the
    share the largest measured gallery needed, an optimistic floor for larger ones."""
    pts = [r for r in rows if r["recall"] < 1.0]
    if len(pts) < 3:
        return {}
    y = np.log([1.0 - r["recall"] for r in pts])
    log_share = np.log([r["scanned_share"] for r in pts])
    log_gallery = np.log([float(r["gallery"]) for r in pts])
    if len(set(log_gallery.tolist())) > 1:
        x = np.column_stack([np.ones_like(y), log_share, log_gallery])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        if coef[2] >= 0:
            return {
                "a": float(coef[0]),
                "b_log_share": float(coef[1]),
                "c_log_gallery": float(coef[2]),
            }
    x = np.column_stack([np.ones_like(y), log_share])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    return {
        "a": float(coef[0]),
        "b_log_share": float(coef[1]),
        "c_log_gallery": 0.0,
        "constrained": 1.0,
    }


def coarse_recall_command(
    sizes: Annotated[str, typer.Option(help="Gallery sizes (fingers).")] = "25000,50000,100000",
    caps: Annotated[str, typer.Option(help="Codes kept per finger (0: all).")] = "0,24,16",
    lists: Annotated[int, typer.Option(help="IVF lists.")] = 4096,
    probed: Annotated[str, typer.Option(help="Probed list counts.")] = "16,32,64,128,256",
    mates: Annotated[int, typer.Option(help="Mated probes.")] = 200,
    workers: Annotated[int, typer.Option(help="Processes generating fingers.")] = 2,
    encode_only: Annotated[
        bool, typer.Option(help="Fill the gallery cache and stop (another run measures).")
    ] = False,
    mates_from: Annotated[
        int, typer.Option(help="Mates spread over the first N fingers (0: the smallest size).")
    ] = 0,
    merge: Annotated[
        Path | None,
        typer.Option(help="An earlier run's JSON whose rows of other sizes join the fit."),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
) -> None:
    """Shortlist recall vs share of codes scanned, by gallery size and codes per finger."""
    faiss.omp_set_num_threads(1)
    ns = sorted(int(s) for s in sizes.split(","))
    cap_list = [int(c) or None for c in caps.split(",")]
    limit = None if None in cap_list else max(c for c in cap_list if c)
    if encode_only:
        encode_blocks(ns[-1], limit, workers)
        return
    gallery = ranked_gallery(ns[-1], limit, workers)
    mate_ids = np.linspace(0, (mates_from or ns[0]) - 1, mates).astype(int).tolist()
    prints = _probe_codes(mate_ids)
    rows: list[dict[str, Any]] = []
    for cap in cap_list:
        for n in ns:
            rows += measure(
                gallery, n, cap, lists, [int(p) for p in probed.split(",")], mate_ids, prints
            )
    if merge is not None:
        rows = merged_rows(rows, json.loads(merge.read_text()), merge.name)
    out = {
        "sizes": sorted({r["gallery"] for r in rows}),
        "mates": mates,
        "mates_from": mates_from or ns[0],
        "settings": "regional profile (neighbours 100, shortlist 300), lists as given",
        "load_average": os.getloadavg(),
        "rows": rows,
        "fit_all_codes": fit([r for r in rows if r["code_cap"] is None]),
        "fit_by_cap": {
            str(c): fit([r for r in rows if r["code_cap"] == (int(c) or None)])
            for c in caps.split(",")
        },
    }
    table = Table(title="shortlist recall vs share of codes scanned")
    for col in ("fingers", "codes/finger", "B/finger", "probed", "scanned", "recall"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            f"{r['gallery']:,}",
            f"{r['codes_per_finger']:.1f}",
            f"{r['bytes_per_finger']:.0f}",
            f"{r['probed_lists']}/{r['lists']}",
            f"{r['scanned_share']:.2%}",
            f"{r['recall']:.3f}",
        )
    console.print(table)
    _plot(out)
    write_json("coarse_recall.json", out, json_out)


def merged_rows(
    rows: list[dict[str, Any]], earlier: dict[str, Any], source: str
) -> list[dict[str, Any]]:
    """This run's rows and an earlier run's rows of the gallery sizes this one did not
    measure (same code caps only), each earlier row marked with where it came from: the
    cached galleries are the same fingers whichever run encoded them, so a large size can be
    measured alone and fitted with the smaller ones."""
    measured = {(r["gallery"], r["code_cap"]) for r in rows}
    caps = {r["code_cap"] for r in rows}
    kept = [
        {**r, "source": r.get("source", source)}
        for r in earlier["rows"]
        if r["code_cap"] in caps and (r["gallery"], r["code_cap"]) not in measured
    ]
    return sorted(kept + rows, key=lambda r: (r["code_cap"] or 0, r["gallery"], r["probed_lists"]))


def _plot(out: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for cap in sorted({r["code_cap"] or 0 for r in out["rows"]}):
        for n in out["sizes"]:
            rows = [r for r in out["rows"] if (r["code_cap"] or 0) == cap and r["gallery"] == n]
            label = f"{n:,} fingers, {cap if cap else 'all'} codes"
            ax.plot(
                [r["scanned_share"] for r in rows], [r["recall"] for r in rows], "o-", label=label
            )
    ax.set_xscale("log")
    ax.set_xlabel("share of the gallery's codes scanned per probe code")
    ax.set_ylabel("shortlist recall (mate among the re-ranked)")
    ax.set_title("Coarse-stage recall vs scan, synthetic fingers (IVF)")
    ax.axhline(0.99, color="0.6", linestyle=":")
    ax.axhline(0.95, color="0.6", linestyle="--")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(results_dir() / "coarse_recall.png", dpi=120)
    plt.close(fig)
