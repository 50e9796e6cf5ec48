"""The fingerprint 1:N index: local codes, MCC re-ranking of a cheap then an exact pass,
and Fisher fusion of two fingers.

Codes: `matcher.index.local_codes`; how enrolled templates are held: `finger_store`.
Committed figures: benchmarks/results/identify_fingerprint_*.json.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.calibration import Calibration, default_calibration
from matcher.fingerprint.compare import DEFAULT_COMPARATOR, PreparedTemplate
from matcher.fingerprint.fusion import fuse_fmrs
from matcher.index.binary import BinaryIdentifier
from matcher.index.finger_store import CompactCodec, PreparedCodec, StoredScorer
from matcher.index.local_codes import LocalCodeEncoder
from matcher.index.settings import IndexSettings

# Minutiae a probe keeps for the cheap first re-ranking pass (`IndexSettings.rerank_exact`).
# Measured on 100k synthetic fingers (200 mates, shortlists of 300): 12 cost 43 µs a
# comparison, 16 55 µs, 24 78 µs, all (~50) 118 µs, and from 12 up every synthetic mate the
# shortlist holds is ranked first or second. Real fingers need more: FVC2002 DB1_B/DB2_B
# mates (70 probes each) among 300 synthetic fingers and the other 9 real ones rank at most
# 101st/19th with 12, 0th/3rd with 16.
CORE_MINUTIAE = 16


def core_minutiae(template: PreparedTemplate, count: int = CORE_MINUTIAE) -> PreparedTemplate:
    """The `count` minutiae whose cylinders have the most valid cells (those well inside
    the print, whose neighbourhoods a mate's impression most likely shares), as a smaller
    probe: comparison cost grows with the product of the two minutia counts."""
    if len(template) <= count:
        return template
    valid = np.bitwise_count(template.mask).sum(axis=1)
    keep = np.sort(np.argsort(-valid, kind="stable")[:count])
    return PreparedTemplate(
        geometry=np.ascontiguousarray(template.geometry[keep]),
        cells=np.ascontiguousarray(template.cells[keep]),
        cell_words=template.cell_words,
    )


def fingerprint_identifier(
    *,
    settings: IndexSettings | None = None,
    calibration: Calibration | None = None,
    encoder: LocalCodeEncoder | None = None,
    ivf_centroids: NDArray[np.uint8] | None = None,
) -> BinaryIdentifier[PreparedTemplate]:
    """The fingerprint 1:N index: local codes, MCC re-ranking, Fisher fusion of two fingers.

    `settings.template_store` picks how enrolled templates are held: prepared (fast
    re-ranking, ~11 KB a finger) or compact minutiae (prepared again for the shortlist).
    The shortlist is first compared with the probe's core minutiae (`core_minutiae`);
    prepared templates are compared straight from their stored bytes (`StoredScorer`).
    """
    store = (settings or IndexSettings()).template_store
    return BinaryIdentifier(
        encoder=encoder or LocalCodeEncoder(),
        codec=CompactCodec() if store == "compact" else PreparedCodec(),
        comparator=DEFAULT_COMPARATOR,
        calibration=calibration or default_calibration(),
        fuse=_fuse,
        settings=settings,
        ivf_centroids=ivf_centroids,
        coarse_probe=core_minutiae,
        score_stored=None if store == "compact" else StoredScorer(),
    )


def _fuse(fmrs: Sequence[float]) -> float:
    return fuse_fmrs(fmrs)
