"""How an identifier's coarse stage is built and how wide its re-ranked shortlist is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

IndexType = Literal["flat", "ivf"]
TemplateStore = Literal["prepared", "compact"]
Layout = Literal["national", "regency"]


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """How the coarse stage is built and how wide the re-ranked shortlist is."""

    # "flat" scans every code exactly; "ivf" scans the `ivf_probe` nearest of `ivf_lists`
    # inverted lists. Measured on 20k synthetic fingers (rank-100 recall, FAISS ms per probe):
    # flat 0.98 / 127 ms, IVF 1024 lists probing 64 0.967 / 7.6 ms — the scan shrinks with the
    # share of lists probed, so IVF is what large galleries need (see benchmarks/identify.py
    # for 100k). Flat stays the default because IVF needs centroids trained on real codes.
    index_type: IndexType = "flat"
    # Enrolled codes fetched per probe code (the voters).
    neighbours: int = 50
    # Best-voted samples per probe sample sent to the exact matcher: the recall/latency dial.
    shortlist: int = 100
    # A sample's votes are divided by (its code count) ** this: a finger with many minutiae
    # collects chance votes in proportion to its codes. Measured on 100k synthetic fingers
    # (exact neighbours, 200 mates, 24 probe codes, 100 neighbours): recall of the top 100
    # 0.980 -> 0.985 and of the top 300 0.985 -> 0.990 at 0.5 (0.75 and 1 no better).
    # One code per sample (iris) is unaffected.
    vote_count_power: float = 0.5
    # Two-stage re-ranking: when the modality offers a cheaper probe (`coarse_probe`), every
    # shortlisted person is first scored with it and only the best `rerank_exact` (at least
    # the search's `limit`) are compared exactly; 0 compares the whole shortlist exactly.
    # Measured on 100k synthetic fingers (200 mates, shortlist 300): a fingerprint probe cut
    # to its 16 best-covered minutiae costs 55 µs a comparison instead of 118 µs and ranks
    # every mate the shortlist holds first or second (real FVC2002 mates: at most 4th), so
    # 32 exact comparisons lose none.
    rerank_exact: int = 32
    # Threads the first re-ranking pass of one search is split across (1: the caller's).
    # Measured on 100k synthetic fingers with 2 concurrent searches on 2 cores (IVF
    # 4096/128, shortlist 300): 2 threads gave p95 86 ms against 75 ms for 1 — the cores are
    # already busy with the other search, so splitting adds hand-offs, not capacity.
    rerank_threads: int = 1
    # A scoped search widens nationwide unless its best candidate reaches this FPIR.
    accept_fpir: float = 0.01
    # "national": one FAISS index for the whole country; a scoped search takes the national
    # neighbours and keeps the votes of samples enrolled in its region (the mate's votes are
    # the same as nationwide, the rivals fewer, so scoped recall is at least national
    # recall), and a widened search reuses them. "regency": one index per regency, so a
    # scoped search scans only its own (cheaper when a regency is a small share of the
    # country) and a nationwide one scans every bucket (dearer with every regency).
    # Measured on 100k synthetic fingers over 8 regencies (IVF 4096/128, 24 probe codes):
    # FAISS 32 -> 17 ms a search alone, and with 2 concurrent searches on 2 cores p95 51 ->
    # 32 ms for the whole search (recall unchanged, 0.98); one index per regency pays each
    # list visit once per regency, which grows with the country's ~500 regencies.
    layout: Layout = "national"
    ivf_lists: int = 4096
    # Lists scanned per probe code. Measured on 100k synthetic fingers (national layout, 2
    # concurrent searches): 64 keeps synthetic recall (0.98 of 200) but drops real FVC2002
    # DB1_B mates 0.971 -> 0.957; 192 with 32 probe codes gains 0.001 for p95 41 -> 52 ms.
    ivf_probe: int = 128
    # How a modality with two stored forms holds enrolled templates: "prepared" (ready to
    # compare) or "compact" (smaller, prepared again for the shortlist). Fingerprints: ~11 KB
    # vs ~0.3 KB per finger. Modalities with one form ignore it.
    template_store: TemplateStore = "prepared"


# Named settings for a gallery's scale, each the best measured at that scale on this
# project's synthetic fingers (benchmarks/results/identify_fingerprint_*.json; 2 cores):
# - "small": flat. 10k fingers: p95 50 ms, shortlist recall 0.990 (IVF 1024/64: 37 ms but
#   0.980), and a flat index needs no centroids learned from a register that has few codes.
# - "regional": IVF 4096 lists probing 128, 100 neighbours, shortlist 300. 100k fingers:
#   p95 38–44 ms, recall 0.98–0.993, where flat takes p95 149–234 ms.
# - "national": as regional but probing 64 with a shortlist of 100 and compact templates
#   (2.47 KB a finger instead of ~13 KB). 1M fingers: p95 150 ms, recall 0.945.
Profile = Literal["small", "regional", "national"]
PROFILES: dict[Profile, IndexSettings] = {
    "small": IndexSettings(index_type="flat"),
    "regional": IndexSettings(
        index_type="ivf", ivf_lists=4096, ivf_probe=128, neighbours=100, shortlist=300
    ),
    "national": IndexSettings(
        index_type="ivf",
        ivf_lists=4096,
        ivf_probe=64,
        neighbours=100,
        shortlist=100,
        template_store="compact",
    ),
}
# Upper gallery sizes (fingers) of the profiles: flat's scan grows with the gallery (p95
# ~5 ms per 1k fingers on 2 cores), IVF's stays near 40 ms to 100k; past ~300k fingers the
# prepared templates (~13 KB a finger) outgrow a node's memory share.
_PROFILE_LIMITS: tuple[tuple[int, Profile], ...] = ((20_000, "small"), (300_000, "regional"))


def profile_for(fingers: int) -> Profile:
    """The named profile for a gallery of this many fingers."""
    for limit, profile in _PROFILE_LIMITS:
        if fingers <= limit:
            return profile
    return "national"
