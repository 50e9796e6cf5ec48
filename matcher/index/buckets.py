"""The FAISS binary indexes that hold codes (flat or IVF), and the IVF centroids they share."""

from __future__ import annotations

from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from matcher.index.settings import IndexSettings
from matcher.index.voting import Hits


def new_bucket(
    bits: int, quantizer: faiss.IndexBinaryFlat | None, settings: IndexSettings
) -> faiss.IndexBinary:
    """Flat scans sit behind an id map (ids may repeat: several codes per sample); IVF
    lists carry the ids themselves (an id map over IVF would desynchronise on removal,
    since IVF does not renumber rows)."""
    if quantizer is None:
        return faiss.IndexBinaryIDMap(faiss.IndexBinaryFlat(bits))
    nlist = quantizer.ntotal
    ivf = faiss.IndexBinaryIVF(quantizer, bits, nlist)
    ivf.is_trained = True
    ivf.nprobe = min(settings.ivf_probe, nlist)
    # FAISS's counting scan finds the same nearest distances as its heap scan, faster
    # (100k fingers, 24 probe codes, 128 of 4096 lists: 36 vs 40 ms at k = 100, 39 vs
    # 50 ms at k = 200). It reads max_codes = 0 as a budget of none rather than no limit
    # (in faiss 1.15 every search then comes back empty), hence the explicit budget.
    ivf.use_heap = False
    ivf.max_codes = 1 << 62
    return ivf


def search_bucket(
    bucket: Any, codes: NDArray[np.uint8], k: int, assigned: tuple[Any, Any] | None
) -> Hits:
    """The `k` nearest codes of one bucket; `assigned` are the probe codes' IVF lists,
    computed once for every bucket that shares the centroids."""
    kk = min(k, bucket.ntotal)
    if assigned is None:
        dist, ids = bucket.search(codes, kk)
    else:
        dist, ids = bucket.search_preassigned(codes, kk, assigned[1], assigned[0])
    return dist, ids


def bucket_rows(bucket: Any, code_bytes: int) -> tuple[NDArray[np.int64], NDArray[np.uint8]]:
    """Every (id, code) a bucket holds, for snapshots."""
    if isinstance(bucket, faiss.IndexBinaryIDMap):
        ids = faiss.vector_to_array(bucket.id_map).astype(np.int64)
        flat: Any = faiss.downcast_IndexBinary(bucket.index)
        return ids, faiss.vector_to_array(flat.xb).reshape(-1, code_bytes)
    invlists = bucket.invlists
    id_parts, code_parts = [], []
    for lst in range(invlists.nlist):
        size = invlists.list_size(lst)
        if size:
            id_parts.append(faiss.rev_swig_ptr(invlists.get_ids(lst), size).copy())
            raw = faiss.rev_swig_ptr(invlists.get_codes(lst), size * code_bytes)
            code_parts.append(raw.reshape(size, code_bytes).copy())
    if not id_parts:
        return np.zeros(0, np.int64), np.zeros((0, code_bytes), np.uint8)
    return np.concatenate(id_parts).astype(np.int64), np.concatenate(code_parts)


def train_ivf_centroids(codes: NDArray[np.uint8], lists: int) -> NDArray[np.uint8]:
    """Binary k-means centroids for IVF buckets, learned once from a sample of codes."""
    bits = codes.shape[1] * 8
    nlist = max(1, min(lists, len(codes) // 39))  # FAISS wants ≥ 39 training points a list
    trainer = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(bits), bits, nlist)
    trainer.train(np.ascontiguousarray(codes, dtype=np.uint8))
    centroids: Any = faiss.downcast_IndexBinary(trainer.quantizer)
    return faiss.vector_to_array(centroids.xb).reshape(-1, codes.shape[1]).copy()
