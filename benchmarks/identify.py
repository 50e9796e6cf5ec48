"""`satupintu-bench identify`: 1:N search latency, shortlist recall and FNIR/FPIR at scale.

A synthetic gallery of N fingers (template-level generator: one impression of each master,
prepared for comparison, stored in the index's template form and encoded for the coarse
stage, in worker processes, cached under the temporary directory so a million fingers are
generated once) is loaded into the fingerprint identifier. Mated probes are other
impressions of a sample of enrolled masters; non-mated probes come from masters never
enrolled. Reported: latency per search (p50/p95/p99; the probe's own preparation excluded,
as 1:1 pays it too), build time, bytes per enrolled finger, shortlist recall (mate among
the persons sent to re-ranking), rank-1, FNIR at FPIR 0.1% and 1% (thresholds from the
non-mated searches' top scores), and, on small galleries, the exhaustive 1:1 search as the
reference. `--mates PATH` adds real fingers (FVC layout): the first impression of each
enrolled among the synthetic distractors, the others as probes, reported separately.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import resource
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Annotated, Any, cast

import faiss
import numpy as np
import typer
from numpy.typing import NDArray
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from benchmarks.output import results_dir
from matcher.fingerprint.compare import PreparedTemplate, prepare
from matcher.index.base import Enrolment, RegionCode
from matcher.index.binary import BinaryIdentifier
from matcher.index.buckets import train_ivf_centroids
from matcher.index.finger_store import CompactCodec, PreparedCodec
from matcher.index.fingerprint import fingerprint_identifier
from matcher.index.gallery import GalleryRows
from matcher.index.ids import POSITIONS
from matcher.index.local_codes import LocalCodeEncoder, LocalCodeParams
from matcher.index.settings import (
    PROFILES,
    IndexSettings,
    IndexType,
    Layout,
    Profile,
    TemplateStore,
    profile_for,
)
from matcher.index.whitening_training import encoder_for
from matcher.synthetic.minutiae import impression, master

CACHE = Path(tempfile.gettempdir()) / "satupintu-bench" / "identify"
FINGER = 2  # right index finger, the e-KTP's first finger
GALLERY_SEED = 1_000_000  # master seeds of enrolled fingers: GALLERY_SEED + i
NONMATED_SEED = 90_000_000  # masters never enrolled
ENROL_IMPRESSION, PROBE_IMPRESSION = 1, 2

console = Console()


@dataclass(frozen=True)
class Probe:
    template: Any  # PreparedTemplate, or MinutiaSet when only the coarse stage is measured
    mate: int | None  # enrolled person id, None for non-mated
    real: bool = False


def _region(person: int, regions: int) -> RegionCode:
    """Spread persons over `regions` regencies of consecutive provinces (2 per province)."""
    r = person % regions
    return RegionCode(province=11 + r // 2, regency=1 + r % 2)


def _codec(store: TemplateStore) -> PreparedCodec | CompactCodec:
    return CompactCodec() if store == "compact" else PreparedCodec()


def _enrol_chunk(
    args: tuple[int, int, LocalCodeEncoder, bool, TemplateStore],
) -> tuple[list[bytes], list[NDArray[np.uint8]]]:
    """Worker: encode (and, for full searches, prepare and store) impressions [start, stop)
    with the parent's encoder, trained once (its learned arrays travel with it)."""
    start, stop, encoder, full, store = args
    codec = _codec(store)
    blobs, codes = [], []
    for i in range(start, stop):
        finger = impression(master(GALLERY_SEED + i), seed=ENROL_IMPRESSION)
        if full:
            template = prepare(finger)
            blobs.append(codec.to_bytes(template))
            codes.append(encoder.encode(template))
        else:  # coarse stage only: codes from the raw minutiae, no comparison template
            blobs.append(b"")
            codes.append(encoder.encode(finger))
    return blobs, codes


def _probe_chunk(args: tuple[list[tuple[int, int]], bool]) -> list[Any]:
    seeds, full = args
    codec = PreparedCodec()
    fingers = [impression(master(m), seed=s) for m, s in seeds]
    return [codec.to_bytes(prepare(f)) for f in fingers] if full else fingers


def _pool_map(fn: Any, jobs: Sequence[Any], workers: int, label: str) -> list[Any]:
    out: list[Any] = []
    with Progress(console=console) as bar, get_context("fork").Pool(workers) as pool:
        task = bar.add_task(label, total=len(jobs))
        for result in pool.imap(fn, jobs):
            out.append(result)
            bar.advance(task)
    return out


def build_gallery(
    n: int, encoder: LocalCodeEncoder, workers: int, full: bool, store: TemplateStore
) -> tuple[list[bytes], list[NDArray[np.uint8]], float]:
    """Stored templates and codes of N enrolled fingers, cached by encoder, size and form."""
    form = _codec(store).name if full else "none"
    tag = hashlib.sha256(f"{encoder.name}|{n}|{form}|v2".encode()).hexdigest()[:16]
    path = CACHE / f"gallery-{n}-{tag}.npz"
    if path.exists():
        data = np.load(path)
        offsets, counts = data["offsets"], data["counts"]
        blob = data["blob"].tobytes()
        blobs = [blob[a:b] for a, b in itertools.pairwise(offsets)]
        codes = np.split(data["codes"], np.cumsum(counts)[:-1])
        return blobs, codes, float(data["seconds"])
    _ = encoder.projection  # learned here once: the workers receive it with the encoder
    step = 500
    started = time.perf_counter()
    chunks = _pool_map(
        _enrol_chunk,
        [(a, min(n, a + step), encoder, full, store) for a in range(0, n, step)],
        workers,
        f"enrolling {n:,} synthetic fingers",
    )
    seconds = time.perf_counter() - started
    blobs = [b for c in chunks for b in c[0]]
    codes = [x for c in chunks for x in c[1]]
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        blob=np.frombuffer(b"".join(blobs), dtype=np.uint8),
        offsets=np.r_[0, np.cumsum([len(b) for b in blobs])],
        codes=np.concatenate(codes),
        counts=np.array([len(c) for c in codes]),
        seconds=seconds,
    )
    return blobs, codes, seconds


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def load_identifier(
    blobs: list[bytes],
    codes: list[NDArray[np.uint8]],
    settings: IndexSettings,
    encoder: LocalCodeEncoder,
    regions: int,
) -> tuple[BinaryIdentifier[PreparedTemplate], float, int]:
    """The identifier over the gallery; returns it, the build seconds and the RSS growth."""
    n = len(blobs)
    all_codes = np.concatenate(codes)
    counts = np.array([len(c) for c in codes])
    persons = np.arange(n, dtype=np.int64)
    rss_before = _rss_bytes()
    started = time.perf_counter()
    centroids = None
    if settings.index_type == "ivf":
        rng = np.random.default_rng(0)
        sample = all_codes[
            rng.choice(len(all_codes), min(len(all_codes), 40 * settings.ivf_lists), False)
        ]
        centroids = train_ivf_centroids(sample, settings.ivf_lists)
    ident = fingerprint_identifier(settings=settings, encoder=encoder, ivf_centroids=centroids)
    rows = GalleryRows(
        person_ids=persons,
        region_keys=np.array([_region(int(p), regions).key for p in persons], dtype=np.int64),
        positions=np.full(n, FINGER, dtype=np.int64),
        templates=blobs,
        code_ids=np.repeat(persons * POSITIONS + FINGER, counts),
        codes=all_codes,
        last_event_id=0,
    )
    ident.bulk_load(rows)
    seconds = time.perf_counter() - started
    return ident, seconds, _rss_bytes() - rss_before


def synthetic_probes(n: int, mated: int, nonmated: int, workers: int, full: bool) -> list[Probe]:
    mates = np.linspace(0, n - 1, min(mated, n)).astype(int).tolist()
    seeds = [(GALLERY_SEED + i, PROBE_IMPRESSION) for i in mates]
    seeds += [(NONMATED_SEED + j, PROBE_IMPRESSION) for j in range(nonmated)]
    step = 50
    chunks = _pool_map(
        _probe_chunk,
        [(seeds[a : a + step], full) for a in range(0, len(seeds), step)],
        workers,
        "preparing probes",
    )
    codec = PreparedCodec()
    made = [codec.from_bytes(b) if full else b for c in chunks for b in c]
    labels: list[int | None] = [*mates, *([None] * nonmated)]
    return [Probe(t, m) for t, m in zip(made, labels, strict=True)]


def iris_gallery(
    n: int, settings: IndexSettings, regions: int, mated: int, nonmated: int
) -> tuple[BinaryIdentifier[Any], list[bytes], float, int, float, list[Probe]]:
    """Synthetic iris codes (code-level generator): one capture of N eyes enrolled as the
    left eye, another capture of a sample of them and of unenrolled eyes as probes."""
    from matcher.iris.index import LEFT_EYE, coarse_codes, iris_identifier
    from matcher.iris.storage import IrisCodec
    from matcher.iris.types import IrisCode
    from matcher.synthetic.iris_codes import captures

    assert LEFT_EYE == FINGER  # the benchmark probes one sample position throughout
    codec = IrisCodec()
    started = time.perf_counter()
    blobs: list[bytes] = []
    eye_codes: list[NDArray[np.uint8]] = []
    with Progress(console=console) as bar:
        task = bar.add_task(f"capturing {n:,} synthetic eyes", total=n)
        for a in range(0, n, 2000):
            codes, masks, _ = captures(np.arange(a, min(n, a + 2000)) + GALLERY_SEED, 1)
            blobs += [
                codec.to_bytes(IrisCode(code=c, mask=m)) for c, m in zip(codes, masks, strict=True)
            ]
            eye_codes.append(coarse_codes(codes))
            bar.advance(task, len(codes))
    enrol_seconds = time.perf_counter() - started
    rss_before = _rss_bytes()
    started = time.perf_counter()
    ident: BinaryIdentifier[Any] = iris_identifier(settings=settings)
    persons = np.arange(n, dtype=np.int64)
    ident.bulk_load(
        GalleryRows(
            person_ids=persons,
            region_keys=np.array([_region(int(p), regions).key for p in persons]),
            positions=np.full(n, FINGER, dtype=np.int64),
            templates=blobs,
            code_ids=persons * POSITIONS + FINGER,
            codes=np.concatenate(eye_codes),
            last_event_id=0,
        )
    )
    build_seconds = time.perf_counter() - started
    rss = _rss_bytes() - rss_before
    mates = np.linspace(0, n - 1, min(mated, n)).astype(int)
    probes: list[Probe] = []
    for seeds, labels in (
        (mates + GALLERY_SEED, mates.tolist()),
        (np.arange(nonmated) + NONMATED_SEED, [None] * nonmated),
    ):
        codes, masks, _ = captures(seeds, PROBE_IMPRESSION)
        probes += [
            Probe(IrisCode(code=c, mask=m), label)
            for c, m, label in zip(codes, masks, labels, strict=True)
        ]
    return ident, blobs, enrol_seconds, rss, build_seconds, probes


def real_mates(
    folder: Path, ident: BinaryIdentifier[PreparedTemplate], first_id: int, regions: int
) -> tuple[list[Probe], int]:
    """Enrol the first impression of each real finger; the others become probes."""
    from matcher.fingerprint.fused import extract

    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".tif", ".png", ".bmp"})
    by_finger: dict[str, list[Path]] = {}
    for path in images:
        by_finger.setdefault(path.stem.split("_")[0], []).append(path)
    probes: list[Probe] = []
    failures = 0
    for k, (_, paths) in enumerate(sorted(by_finger.items())):
        templates: list[PreparedTemplate | None] = []
        for path in paths:
            try:
                templates.append(prepare(extract(path.read_bytes())))
            except ValueError:
                failures += 1
                templates.append(None)
        person = first_id + k
        first = templates[0]
        if first is None:
            continue
        ident.upsert(Enrolment(person, _region(person, regions), {FINGER: first}))
        probes += [Probe(t, person, real=True) for t in templates[1:] if t is not None]
    return probes, failures


def _fnir_at(mated_scores: NDArray, nonmated_top: NDArray, fpir: float) -> float:
    """FNIR at the lowest threshold whose FPIR on the non-mated searches is ≤ `fpir`."""
    if not len(nonmated_top) or not len(mated_scores):
        return float("nan")
    ranked = np.sort(nonmated_top)[::-1]
    allowed = int(np.floor(fpir * len(ranked)))
    threshold = ranked[allowed] if allowed < len(ranked) else -np.inf
    return float(np.mean(~(mated_scores > threshold)))


def _rank(shortlist: list[int], mate: int | None) -> float:
    """Position of the mate in the vote-ordered shortlist (inf when absent)."""
    return float(shortlist.index(mate)) if mate in shortlist else float("inf")


def run_probes(
    ident: BinaryIdentifier[Any], probes: list[Probe], threads: int, full: bool
) -> list[dict[str, Any]]:
    """Search every probe (timed); for mated probes also measure the shortlist (untimed).

    Without `full`, only the coarse stage runs (timed) and only recall is measured.
    """

    def one(probe: Probe) -> dict[str, Any]:
        sample = {FINGER: probe.template}
        started = time.perf_counter()
        if not full:
            shortlist = ident.shortlist(sample)
            ms = (time.perf_counter() - started) * 1e3
            return {
                "ms": ms,
                "mate": probe.mate,
                "real": False,
                "rank": _rank(shortlist, probe.mate),
            }
        result = ident.search(sample, limit=10)
        ms = (time.perf_counter() - started) * 1e3
        shortlist = ident.shortlist(sample) if probe.mate is not None else []
        mate_score = next(
            (c.score for c in result.candidates if c.person_id == probe.mate), -np.inf
        )
        top = result.candidates[0] if result.candidates else None
        return {
            "ms": ms,
            "mate": probe.mate,
            "real": probe.real,
            "rank": _rank(shortlist, probe.mate),
            "rank1": top is not None and top.person_id == probe.mate,
            "mate_score": mate_score,
            "top_score": top.score if top else -np.inf,
        }

    out: list[dict[str, Any]] = []
    with Progress(console=console) as bar, ThreadPoolExecutor(threads) as pool:
        task = bar.add_task(f"searching {len(probes)} probes", total=len(probes))
        for row in pool.map(one, probes):
            out.append(row)
            bar.advance(task)
    return out


def exhaustive_rank1(
    ident: BinaryIdentifier[Any], blobs: list[bytes], probes: list[Probe], codec: Any
) -> float:
    """Rank-1 of the exhaustive 1:1 search (every enrolled template compared); `codec`
    reads `blobs` (the gallery as built, whatever form the index stores)."""
    gallery = [codec.from_bytes(b) for b in blobs]
    hits = 0
    for probe in probes:
        scores = [ident.reranker.comparator(probe.template, g) for g in gallery]
        hits += int(np.argmax(scores)) == probe.mate
    return hits / len(probes) if probes else float("nan")


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ms = np.array([r["ms"] for r in rows])
    synth_mated = [r for r in rows if r["mate"] is not None and not r["real"]]
    real = [r for r in rows if r["real"]]
    out: dict[str, Any] = {
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mated_probes": len(synth_mated),
        "shortlist_recall": float(np.mean([np.isfinite(r["rank"]) for r in synth_mated])),
        # Recall had the shortlist been cut shorter (the coarse stage orders it by votes).
        "shortlist_recall_at": {
            k: float(np.mean([r["rank"] < k for r in synth_mated]))
            for k in (1, 10, 20, 50, 100, 200, 500, 1000)
        },
    }
    if "rank1" not in rows[0]:
        return out
    nonmated = np.array([r["top_score"] for r in rows if r["mate"] is None])
    mated_scores = np.array([r["mate_score"] for r in synth_mated])
    out |= {
        "nonmated_probes": len(nonmated),
        "rank1": float(np.mean([r["rank1"] for r in synth_mated])),
        "fnir_at_fpir_0.001": _fnir_at(mated_scores, nonmated, 0.001),
        "fnir_at_fpir_0.01": _fnir_at(mated_scores, nonmated, 0.01),
    }
    if real:
        out["real_probes"] = len(real)
        out["real_shortlist_recall"] = float(np.mean([np.isfinite(r["rank"]) for r in real]))
        out["real_rank1"] = float(np.mean([r["rank1"] for r in real]))
    return out


def _code_generation(run: dict[str, Any]) -> str:
    """'v1', 'v2', ... from the encoder's name: runs of different codes are different curves."""
    version = str(run.get("encoder", "")).split("/")[0].rpartition("-")[2]
    return version if version.startswith("v") else "v?"


def plot(modality: str) -> Path | None:
    """Latency and shortlist recall against N from every stored result of this modality."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # `identify*`: runs saved under a name of their own with --json (a 600-mate run) count too.
    runs = [json.loads(p.read_text()) for p in results_dir().glob(f"identify*{modality}_*.json")]
    runs = sorted((r for r in runs if "gallery" in r), key=lambda r: r["gallery"])
    if not runs:
        return None
    current = max(_code_generation(r) for r in runs)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    series: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        codes_and_stage = _code_generation(r) + (
            " full" if r["stages"].startswith("coarse+") else " coarse"
        )
        store = " compact" if r.get("template_store") == "compact" else ""
        codes = r.get("probe_codes")
        sent = f" {codes} probe codes" if codes not in (None, LocalCodeParams.probe_codes) else ""
        if r.get("neighbours", 50) != IndexSettings().neighbours:
            sent += f" {r['neighbours']} neighbours"
        index = r["index_type"]
        if index == "ivf":
            index += f" {r.get('ivf_lists')}/{r.get('ivf_probe')}"
        sent += f" shortlist {r.get('shortlist')}"
        series.setdefault(f"{codes_and_stage} {index}{store}{sent}", []).append(r)
    for label, rs in sorted(series.items()):
        # Results of superseded codes stay for comparison, faded, so the current ones stand out.
        look = {} if label.startswith(current) else {"alpha": 0.3, "lw": 0.8}
        n = [r["gallery"] for r in rs]
        p95 = left.plot(n, [r["p95_ms"] for r in rs], marker="o", label=f"{label} p95", **look)
        colour = {"color": p95[0].get_color()}
        left.plot(n, [r["p50_ms"] for r in rs], marker=".", ls=":", **colour, **look)
        right.plot(n, [r["shortlist_recall"] for r in rs], marker="o", label=label, **look)
    left.set(xscale="log", yscale="log", xlabel="gallery (fingers)", ylabel="ms per search")
    left.set_title("Latency per search (p95 solid, p50 dotted)")
    left.legend(fontsize=6)
    right.set(xscale="log", xlabel="gallery (fingers)", title="Shortlist recall (synthetic mates)")
    right.legend(fontsize=6)
    fig.tight_layout()
    out = results_dir() / f"identify_{modality}.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def identify(
    gallery: Annotated[int, typer.Option(help="Enrolled fingers (synthetic).")] = 10_000,
    modality: Annotated[str, typer.Option(help="fingerprint | iris")] = "fingerprint",
    mates: Annotated[Path | None, typer.Option(help="Real labelled folder (FVC layout).")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write here.")] = None,
    profile: Annotated[
        str | None,
        typer.Option(help="small | regional | national (default: the one for --gallery)."),
    ] = None,
    index_type: Annotated[str | None, typer.Option(help="flat | ivf")] = None,
    shortlist: Annotated[
        int | None, typer.Option(help="Samples re-ranked per probe finger.")
    ] = None,
    neighbours: Annotated[int | None, typer.Option(help="Codes fetched per probe code.")] = None,
    rerank_exact: Annotated[
        int, typer.Option(help="Best first-pass candidates compared exactly (0: all).")
    ] = IndexSettings().rerank_exact,
    ivf_lists: Annotated[int | None, typer.Option()] = None,
    ivf_probe: Annotated[int | None, typer.Option()] = None,
    template_store: Annotated[
        str | None, typer.Option(help="prepared | compact (minutiae, prepared for the shortlist)")
    ] = None,
    probe_codes: Annotated[
        int, typer.Option(help="Probe codes sent to FAISS.")
    ] = LocalCodeParams().probe_codes,
    whitening_ridge: Annotated[
        float, typer.Option(help="Ridge of the local codes' within-finger whitening.")
    ] = LocalCodeParams().whitening_ridge or 0.0,
    plain_codes: Annotated[
        bool, typer.Option(help="Local codes without whitening (for comparison).")
    ] = False,
    probes: Annotated[int, typer.Option(help="Mated synthetic probes.")] = 300,
    nonmated: Annotated[int, typer.Option(help="Non-mated probes.")] = 1000,
    regions: Annotated[int, typer.Option(help="Regencies the gallery is spread over.")] = 8,
    rerank_threads: Annotated[
        int, typer.Option(help="Threads one search's first re-ranking pass is split across.")
    ] = IndexSettings().rerank_threads,
    layout: Annotated[
        str, typer.Option(help="national (one index) | regency (one index per regency)")
    ] = IndexSettings().layout,
    threads: Annotated[int, typer.Option(help="Concurrent searches.")] = 1,
    workers: Annotated[int, typer.Option(help="Processes building the gallery.")] = 2,
    exhaustive: Annotated[int, typer.Option(help="Probes checked by exhaustive 1:1.")] = 0,
    coarse_only: Annotated[
        bool, typer.Option(help="Time and measure only the FAISS stage (large N).")
    ] = False,
) -> None:
    """Measure the 1:N search on a synthetic gallery of N fingers (or eyes).

    Index settings not given are those of the named profile that fits the gallery, as the
    gateway chooses them."""
    if profile is not None and profile not in PROFILES:
        raise typer.BadParameter("small, regional or national", param_hint="--profile")
    named = profile_for(gallery) if profile is None else cast(Profile, profile)
    # The iris index is flat at every measured size: profiles are the fingerprint index's.
    base = IndexSettings() if modality == "iris" else PROFILES[named]
    index_type = index_type or base.index_type
    shortlist = shortlist or base.shortlist
    neighbours = neighbours or base.neighbours
    ivf_lists = ivf_lists or base.ivf_lists
    ivf_probe = ivf_probe or base.ivf_probe
    template_store = template_store or base.template_store
    if modality not in ("fingerprint", "iris"):
        raise typer.BadParameter("fingerprint or iris", param_hint="--modality")
    if index_type not in ("flat", "ivf"):
        raise typer.BadParameter("flat or ivf", param_hint="--index-type")
    kind: IndexType = "ivf" if index_type == "ivf" else "flat"
    if template_store not in ("prepared", "compact"):
        raise typer.BadParameter("prepared or compact", param_hint="--template-store")
    store: TemplateStore = "compact" if template_store == "compact" else "prepared"
    if layout not in ("national", "regency"):
        raise typer.BadParameter("national or regency", param_hint="--layout")
    spread: Layout = "regency" if layout == "regency" else "national"
    if modality == "iris" and (kind == "ivf" or coarse_only or mates is not None):
        raise typer.BadParameter("iris runs flat, with re-ranking, on synthetic codes only")
    faiss.omp_set_num_threads(1)  # parallelism comes from concurrent searches
    settings = IndexSettings(
        index_type=kind,
        shortlist=shortlist,
        neighbours=neighbours,
        rerank_exact=rerank_exact,
        ivf_lists=ivf_lists,
        ivf_probe=ivf_probe,
        template_store=store,
        layout=spread,
        rerank_threads=rerank_threads,
    )
    full = not coarse_only
    real_failures = 0
    ident: BinaryIdentifier[Any]
    if modality == "iris":
        ident, blobs, enrol_seconds, rss_growth, build_seconds, probe_list = iris_gallery(
            gallery, settings, regions, probes, nonmated
        )
    else:
        encoder = encoder_for(
            LocalCodeParams(
                probe_codes=probe_codes, whitening_ridge=None if plain_codes else whitening_ridge
            )
        )
        blobs, codes, enrol_seconds = build_gallery(gallery, encoder, workers, full, store)
        ident, build_seconds, rss_growth = load_identifier(blobs, codes, settings, encoder, regions)
        probe_list = synthetic_probes(gallery, probes, nonmated if full else 0, workers, full)
        if mates is not None and full:
            real, real_failures = real_mates(mates, ident, gallery, regions)
            probe_list += real
    rows = run_probes(ident, probe_list, threads, full)
    samples = max(1, ident.samples)
    result: dict[str, Any] = {
        "modality": modality,
        "gallery": gallery,
        "stages": "coarse+rerank" if full else "coarse only (FAISS shortlist, no re-ranking)",
        "index_type": kind,
        "encoder": ident.encoder.name,
        "shortlist": shortlist,
        "neighbours": neighbours,
        "rerank_exact": rerank_exact,
        **({"ivf_lists": ivf_lists, "ivf_probe": ivf_probe} if kind == "ivf" else {}),
        "template_store": store,
        "layout": spread,
        "rerank_threads": rerank_threads,
        "regions": regions,
        "probe_codes": probe_codes if modality == "fingerprint" else None,
        "codes_per_finger": ident.codes / samples,
        "bytes_per_finger": ident.memory_bytes() / samples,
        "rss_bytes_per_finger": rss_growth / max(1, gallery),
        "coarse_bytes_per_finger": ident.codes * (ident.encoder.code_bytes + 8) / samples,
        "enrol_seconds_per_finger": enrol_seconds / gallery,
        "build_seconds": build_seconds,
        "threads": threads,
        "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **summarise(rows),
    }
    if mates is not None and full:
        result["real_failures_to_enrol"] = real_failures
    if exhaustive and full:
        sample = [p for p in probe_list if p.mate is not None and not p.real][:exhaustive]
        result["exhaustive_probes"] = len(sample)
        result["exhaustive_rank1"] = exhaustive_rank1(
            ident, blobs, sample, ident.codec if modality == "iris" else _codec(store)
        )
    _report(result, json_out)


def _report(result: dict[str, Any], json_out: Path | None) -> None:
    table = Table(title=f"1:N {result['modality']} search, N = {result['gallery']:,}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
    text = json.dumps(result, indent=2)
    name = f"identify_{result['modality']}_{result['gallery']}_{result['index_type']}"
    if result.get("template_store") == "compact":
        name += "_compact"
    if not result["stages"].startswith("coarse+"):
        name += "_coarse"
    (results_dir() / f"{name}.json").write_text(text + "\n")
    if json_out is not None:
        json_out.write_text(text + "\n")
    png = plot(result["modality"])
    if png is not None:
        console.print(f"plot: {png}")
