"""Fingerprint codes for the coarse stage: one 256-bit local code per minutia.

Why local codes. A finger's minutiae seen from each minutia's own frame (neighbours'
positions relative to its location and direction, and their directions relative to its
own) do not change when the finger is moved or turned, survive partial contact (a
neighbourhood is either captured or not) and elastic distortion (neighbours are close).
This is what Minutia Cylinder-Code captures; here each minutia gets a continuous MCC-like
descriptor (a disc of radius 70 px in 8 × 8 cells × 6 direction sections, Gaussian
contributions), square-rooted (Hellinger), centred on the population mean so only what is
unusual about a neighbourhood counts, whitened by how it varies between impressions of one
finger (v2), and turned into 256 balanced bits by a fixed Gaussian
random projection and its sign (SimHash, Charikar 2002), so Hamming distance estimates the
angle between descriptors. A probe's local codes each fetch their nearest enrolled codes and
vote for the fingers owning them (cf. MCC indexing, Cappelli et al. 2011, which hashes
cylinder bits instead).

Chosen by measurement on the synthetic template generator (20k fingers, 300 mated probes,
rank of the mate among the voted fingers): one aggregated vector per finger (sum of centred
descriptors, VLAD with 16 or 64 words, with or without PCA whitening) leaves 15–40% of mates
outside the top 100 (partial impressions share only part of their neighbourhoods, and an
aggregate mixes in the rest), while these local codes with voting leave 2%; float PCA
codes (64 dims) reach no higher recall even when scanned exactly. So the local
codes stay, and speed comes from scanning less: the probe sends only its best-surrounded
codes (`probe_codes`) and large galleries use the IVF index type.
Committed figures: benchmarks/results/identify_fingerprint_*.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

import numpy as np
from numba import njit
from numpy.typing import NDArray

from matcher.index.whitening import CodeWhitening, shipped_whitening


class Geometry(Protocol):
    """Anything with minutia coordinates and directions (MinutiaSet, PreparedTemplate)."""

    @property
    def x(self) -> NDArray[np.float32]: ...

    @property
    def y(self) -> NDArray[np.float32]: ...

    @property
    def direction(self) -> NDArray[np.float32]: ...


@dataclass(frozen=True)
class LocalCodeParams:
    """Descriptor geometry and code length; reasons for the defaults in the comments."""

    radius: float = 70.0  # MCC's R: about two ridge periods beyond the typical gap
    grid: int = 8  # cells per side (~17 px each): coarser than MCC, as codes are short
    sections: int = 6  # direction-difference sections (60° each)
    sigma_s: float = 10.0  # spatial tolerance (px): local elastic distortion and jitter
    sigma_d: float = 0.6  # directional tolerance (rad, ~35°)
    code_bits: int = 256  # measured: 128 loses ~2% of mates at rank 100, 512 gains nothing
    min_neighbours: int = 2  # a lone minutia's code says nothing about the finger
    seed: int = 20261127  # projection and training fingers; part of the encoder's name
    training_fingers: int = 300  # synthetic fingers the mean and the whitening were learned from
    # Ridge added to the within-finger covariance (scaled to mean eigenvalue 1) before it is
    # whitened away; None projects the plain centred descriptors. Why and figures: `_whitening`.
    whitening_ridge: float | None = 1.0
    # Probe codes sent to FAISS: those of the best-surrounded minutiae (largest descriptor
    # mass). Measured on 100k synthetic fingers (600 mates, IVF 4096/128, shortlist 300, 2
    # concurrent searches): 24 codes recall 0.962 at p95 34 ms, 32 codes 0.972 at 41 ms, 40
    # (about all) 0.975 with FAISS alone 21 instead of 12 ms; probing 256 lists with 24 codes
    # gives less (0.968 at 44 ms). On 20k fingers 24 had looked as good as all; 16 lose more.
    # Probe-side only: enrolled codes and therefore snapshots do not depend on it.
    probe_codes: int = 32


def local_descriptors(ms: Geometry, params: LocalCodeParams) -> NDArray[np.float64]:
    """Continuous descriptors, one row per minutia with enough neighbours."""
    return described_minutiae(ms, params)[0]


def described_minutiae(
    ms: Geometry, params: LocalCodeParams
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """The descriptors of `local_descriptors` and the minutiae (rows of `ms`) they describe,
    so training can pair the descriptors of one minutia seen in two impressions."""
    cu, cv = _cell_centres(params)
    values, keep = _descriptor_kernel(
        np.ascontiguousarray(ms.x, dtype=np.float64),
        np.ascontiguousarray(ms.y, dtype=np.float64),
        np.ascontiguousarray(ms.direction, dtype=np.float64),
        cu,
        cv,
        params.sections,
        params.sigma_s,
        params.sigma_d,
        params.radius + 3.0 * params.sigma_s,
        params.min_neighbours,
    )
    return values[keep], np.flatnonzero(keep)


@njit(cache=True, nogil=True)
def _descriptor_kernel(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    t: NDArray[np.float64],
    cu: NDArray[np.float64],
    cv: NDArray[np.float64],
    sections: int,
    sigma_s: float,
    sigma_d: float,
    reach: float,
    min_neighbours: int,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:  # pragma: no cover - compiled
    """Square-rooted descriptor of every minutia and whether it has enough neighbours.

    Compiled because it dominated enrolment (~4 ms a finger in numpy, ~0.7 ms here; the
    same sums in the same order, so the codes are unchanged). Neighbours are taken in the
    minutia's frame (image y points down, directions turn counter-clockwise); each adds a
    Gaussian in space per cell times a Gaussian in direction difference per section.
    """
    n, cells = len(x), len(cu)
    out = np.zeros((n, cells * sections))
    keep = np.zeros(n, np.bool_)
    two_pi = 2.0 * np.pi
    spatial_scale = 1.0 / (2.0 * sigma_s * sigma_s)
    direction_scale = 1.0 / (2.0 * sigma_d * sigma_d)
    spatial = np.empty(cells)
    directional = np.empty(sections)
    for i in range(n):
        cos_t, sin_t = np.cos(t[i]), np.sin(t[i])
        count = 0
        for j in range(n):
            dx, dy = x[j] - x[i], y[j] - y[i]
            if j == i or dx * dx + dy * dy >= reach * reach:
                continue
            count += 1
            along = cos_t * dx - sin_t * dy
            across = sin_t * dx + cos_t * dy
            for c in range(cells):
                du, dv = along - cu[c], across - cv[c]
                spatial[c] = np.exp(-(du * du + dv * dv) * spatial_scale)
            rel = (t[j] - t[i] + np.pi) % two_pi - np.pi
            for s in range(sections):
                gap = (rel - ((s + 0.5) * (two_pi / sections) - np.pi) + np.pi) % two_pi - np.pi
                directional[s] = np.exp(-(gap * gap) * direction_scale)
            for c in range(cells):
                for s in range(sections):
                    out[i, c * sections + s] += spatial[c] * directional[s]
        keep[i] = count >= min_neighbours
    return np.sqrt(out), keep


@njit(cache=True, nogil=True)
def _sign_codes(
    desc: NDArray[np.float64], mean: NDArray[np.float64], projection: NDArray[np.float64]
) -> NDArray[np.uint8]:  # pragma: no cover - compiled
    """SimHash: the signs of the centred descriptors' random projections, packed MSB first.

    Compiled rather than `@`: threaded BLAS on a 46 × 360 product costs more in thread
    hand-offs than the arithmetic when the cores are busy with concurrent searches.
    """
    m, dims = desc.shape
    bits = projection.shape[1]
    out = np.zeros((m, bits // 8), np.uint8)
    acc = np.empty(bits)
    for i in range(m):
        acc[:] = 0.0
        for k in range(dims):
            v = desc[i, k] - mean[k]
            for b in range(bits):
                acc[b] += v * projection[k, b]
        for b in range(bits):
            if acc[b] > 0.0:
                out[i, b >> 3] |= np.uint8(128 >> (b & 7))
    return out


def whitening_key(params: LocalCodeParams) -> dict[str, Any]:
    """The parameters the mean and the whitening depend on (not code length or probe codes)."""
    return {
        "radius": params.radius,
        "grid": params.grid,
        "sections": params.sections,
        "sigma_s": params.sigma_s,
        "sigma_d": params.sigma_d,
        "min_neighbours": params.min_neighbours,
        "seed": params.seed,
        "training_fingers": params.training_fingers,
        "whitening_ridge": params.whitening_ridge,
    }


def _cell_centres(params: LocalCodeParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centres of the grid cells that touch the disc (corners carry no neighbours)."""
    side = 2.0 * params.radius / params.grid
    axis = (np.arange(params.grid) + 0.5) * side - params.radius
    cu, cv = np.meshgrid(axis, axis, indexing="ij")
    inside = cu**2 + cv**2 <= (params.radius + side / 2.0) ** 2
    return cu[inside], cv[inside]


class LocalCodeEncoder:
    """`FixedLengthEncoder` for fingerprints: (m, 32) uint8 codes, one per usable minutia."""

    def __init__(
        self, params: LocalCodeParams | None = None, whitening: CodeWhitening | None = None
    ) -> None:
        """`whitening` defaults to the shipped one, which must match `params`."""
        self.params = params or LocalCodeParams()
        if self.params.code_bits % 64:
            raise ValueError("code_bits must be a multiple of 64")
        self.whitening = whitening or shipped_whitening(whitening_key(self.params))

    @property
    def name(self) -> str:
        p = self.params
        ridge = "plain" if p.whitening_ridge is None else f"wccn{p.whitening_ridge:g}"
        return (
            f"localsimhash-v2/r{p.radius:g}g{p.grid}s{p.sections}"
            f"/ss{p.sigma_s:g}sd{p.sigma_d:g}/b{p.code_bits}/{ridge}"
            f"/seed{p.seed}/t{p.training_fingers}"
        )

    @property
    def code_bytes(self) -> int:
        return self.params.code_bits // 8

    @property
    def mean(self) -> NDArray[np.float64]:
        """The population's mean descriptor."""
        return self.whitening.mean

    @cached_property
    def projection(self) -> NDArray[np.float64]:
        """The random hyperplanes, seen through the whitening: sign(Rᵀ W (d − mean))."""
        dims = len(_cell_centres(self.params)[0]) * self.params.sections
        rng = np.random.default_rng(self.params.seed)
        planes = rng.standard_normal((dims, self.params.code_bits))
        whitening = self.whitening.matrix
        return planes if whitening is None else np.ascontiguousarray(whitening @ planes)

    def encode(self, template: Geometry) -> NDArray[np.uint8]:
        """Local codes, shape (m, code_bytes); m = 0 when no minutia has neighbours."""
        return self._codes(local_descriptors(template, self.params))

    def encode_probe(self, template: Geometry) -> NDArray[np.uint8]:
        """The codes of the `probe_codes` best-surrounded minutiae: every probe code costs a
        scan, and a minutia with few neighbours (at the contact's edge) seldom finds its mate.
        """
        desc = local_descriptors(template, self.params)
        return self._codes(desc[np.sort(_best_surrounded(desc)[: self.params.probe_codes])])

    def encode_ranked(self, template: Geometry, limit: int | None = None) -> NDArray[np.uint8]:
        """Every code (or the first `limit`), best-surrounded minutia first: the first m rows
        are what a finger would hold with m codes (how memory per finger trades against
        recall); a limit skips projecting the codes a capped gallery would drop."""
        desc = local_descriptors(template, self.params)
        return self._codes(desc[_best_surrounded(desc)[:limit]])

    def _codes(self, desc: NDArray[np.float64]) -> NDArray[np.uint8]:
        if not len(desc):
            return np.zeros((0, self.code_bytes), dtype=np.uint8)
        return _sign_codes(np.ascontiguousarray(desc), self.mean, self.projection)


def _best_surrounded(desc: NDArray[np.float64]) -> NDArray[np.intp]:
    """Minutiae by descriptor mass, largest first (ties in minutia order)."""
    return np.argsort(-(desc**2).sum(axis=1), kind="stable")
