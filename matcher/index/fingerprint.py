"""Fingerprint codes for the coarse stage: one 256-bit local code per minutia, and the wiring.

Why local codes. A finger's minutiae seen from each minutia's own frame (neighbours'
positions relative to its location and direction, and their directions relative to its
own) do not change when the finger is moved or turned, survive partial contact (a
neighbourhood is either captured or not) and elastic distortion (neighbours are close).
This is what Minutia Cylinder-Code captures; here each minutia gets a continuous MCC-like
descriptor (a disc of radius 70 px in 8 × 8 cells × 6 direction sections, Gaussian
contributions), square-rooted (Hellinger), centred on the population mean so only what is
unusual about a neighbourhood counts, and turned into 256 balanced bits by a fixed Gaussian
random projection and its sign (SimHash, Charikar 2002), so Hamming distance estimates the
angle between descriptors. A probe's local codes each fetch their nearest enrolled codes and
vote for the fingers owning them (cf. MCC indexing, Cappelli et al. 2011, which hashes
cylinder bits instead).

Chosen by measurement on the synthetic template generator: during development a single
global pair-geometry histogram per finger and raw (sparse) MCC bits compared by Hamming both
left far more mates outside the top 100 than these centred SimHash codes; the committed
figures for this design are in benchmarks/results/identify_fingerprint_*.json.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.calibration import Calibration, default_calibration
from matcher.fingerprint.compare import DEFAULT_COMPARATOR, PreparedTemplate
from matcher.fingerprint.fusion import fuse_fmrs
from matcher.index.base import IndexFailure
from matcher.index.binary import BinaryIdentifier, IndexSettings


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
    training_fingers: int = 300  # synthetic impressions the population mean is learned from


def local_descriptors(ms: Geometry, params: LocalCodeParams) -> NDArray[np.float64]:
    """Continuous descriptors, one row per minutia with enough neighbours."""
    x = np.asarray(ms.x, dtype=np.float64)
    y = np.asarray(ms.y, dtype=np.float64)
    t = np.asarray(ms.direction, dtype=np.float64)
    n = len(x)
    dx = x[None, :] - x[:, None]
    dy = y[None, :] - y[:, None]
    cos_t, sin_t = np.cos(t)[:, None], np.sin(t)[:, None]
    # Neighbours in minutia i's frame; image y points down, directions turn counter-clockwise.
    along = cos_t * dx - sin_t * dy
    across = sin_t * dx + cos_t * dy
    cu, cv = _cell_centres(params)
    d2 = (along[:, :, None] - cu) ** 2 + (across[:, :, None] - cv) ** 2  # (n, n, cells)
    reach = params.radius + 3.0 * params.sigma_s
    near = (dx**2 + dy**2 < reach**2) & ~np.eye(n, dtype=bool)
    spatial = np.exp(-d2 / (2.0 * params.sigma_s**2)) * near[:, :, None]
    rel = np.mod(t[None, :] - t[:, None] + np.pi, 2 * np.pi) - np.pi  # (n, n)
    centres = (np.arange(params.sections) + 0.5) * (2 * np.pi / params.sections) - np.pi
    gap = np.mod(rel[:, :, None] - centres + np.pi, 2 * np.pi) - np.pi
    directional = np.exp(-(gap**2) / (2.0 * params.sigma_d**2))  # (n, n, sections)
    # einsum without BLAS: the batches are tiny, and threaded BLAS oversubscribes cores that
    # concurrent searches already use.
    values = np.einsum("ijg,ijs->igs", spatial, directional, optimize=False).reshape(n, -1)
    keep = near.sum(axis=1) >= params.min_neighbours
    return np.sqrt(values[keep])


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
        self, params: LocalCodeParams | None = None, *, mean: NDArray[np.float64] | None = None
    ) -> None:
        self.params = params or LocalCodeParams()
        if self.params.code_bits % 64:
            raise ValueError("code_bits must be a multiple of 64")
        self._mean = mean

    @property
    def name(self) -> str:
        p = self.params
        return (
            f"localsimhash-v1/r{p.radius:g}g{p.grid}s{p.sections}"
            f"/ss{p.sigma_s:g}sd{p.sigma_d:g}/b{p.code_bits}/seed{p.seed}/t{p.training_fingers}"
        )

    @property
    def code_bytes(self) -> int:
        return self.params.code_bits // 8

    @cached_property
    def mean(self) -> NDArray[np.float64]:
        """The population's mean descriptor, learned from synthetic impressions (seeded)."""
        if self._mean is not None:
            return self._mean
        from matcher.synthetic.minutiae import impression, master

        seed = self.params.seed
        rows = [
            local_descriptors(impression(master(seed + k), seed=seed - k), self.params)
            for k in range(self.params.training_fingers)
        ]
        return np.concatenate(rows).mean(axis=0)

    @cached_property
    def projection(self) -> NDArray[np.float64]:
        dims = len(_cell_centres(self.params)[0]) * self.params.sections
        rng = np.random.default_rng(self.params.seed)
        return rng.standard_normal((dims, self.params.code_bits))

    def encode(self, template: Geometry) -> NDArray[np.uint8]:
        """Local codes, shape (m, code_bytes); m = 0 when no minutia has neighbours."""
        desc = local_descriptors(template, self.params)
        if not len(desc):
            return np.zeros((0, self.code_bytes), dtype=np.uint8)
        # Not `@`: threaded BLAS on a 46 × 312 product costs more in thread hand-offs than the
        # arithmetic when the cores are busy with concurrent searches.
        signs = np.einsum("md,db->mb", desc - self.mean, self.projection, optimize=False)
        return np.packbits(signs > 0, axis=1)


class PreparedCodec:
    """`TemplateCodec[PreparedTemplate]`: the comparison-ready form, stored as raw arrays.

    Holding prepared templates makes re-ranking a compiled comparison (~0.1 ms) instead of
    a preparation (tens of ms) per candidate; the price is ~240 bytes per minutia.
    """

    _HEADER = struct.Struct("<BHHH")
    _VERSION = 1

    def to_bytes(self, template: PreparedTemplate) -> bytes:
        n = len(template)
        words = template.cells.shape[1] if n else 0
        head = self._HEADER.pack(self._VERSION, n, words, template.cell_words)
        geometry = np.ascontiguousarray(template.geometry, dtype="<f4")
        return head + geometry.tobytes() + np.ascontiguousarray(template.cells, "<u8").tobytes()

    def from_bytes(self, data: bytes) -> PreparedTemplate:
        try:
            version, n, words, cell_words = self._HEADER.unpack_from(data)
        except struct.error as exc:
            raise IndexFailure("stored template is truncated", code="template_corrupt") from exc
        size = self._HEADER.size + n * 12 + n * words * 8
        if version != self._VERSION or len(data) != size:
            raise IndexFailure(
                "stored template has another version or length", code="template_corrupt"
            )
        geometry = np.frombuffer(data, "<f4", n * 3, self._HEADER.size).reshape(n, 3)
        cells = np.frombuffer(data, "<u8", n * words, self._HEADER.size + n * 12)
        return PreparedTemplate(
            geometry=geometry, cells=cells.reshape(n, words), cell_words=cell_words
        )


def fingerprint_identifier(
    *,
    settings: IndexSettings | None = None,
    calibration: Calibration | None = None,
    encoder: LocalCodeEncoder | None = None,
    ivf_centroids: NDArray[np.uint8] | None = None,
) -> BinaryIdentifier[PreparedTemplate]:
    """The fingerprint 1:N index: local codes, MCC re-ranking, Fisher fusion of two fingers."""
    return BinaryIdentifier(
        encoder=encoder or LocalCodeEncoder(),
        codec=PreparedCodec(),
        comparator=DEFAULT_COMPARATOR,
        calibration=calibration or default_calibration(),
        fuse=_fuse,
        settings=settings,
        ivf_centroids=ivf_centroids,
    )


def _fuse(fmrs: Sequence[float]) -> float:
    return fuse_fmrs(fmrs)
