"""Minutia Cylinder-Code descriptors, bit-based (Cappelli, Ferrara and Maltoni, TPAMI 2010).

Each minutia gets a cylinder: a disc of radius R centred on the minutia and turned to its
direction, cut into NS×NS spatial cells and ND angular sections. A cell's bit says whether
some neighbouring minutia lies near the cell centre with a direction (relative to the central
minutia) near the section's angle. The descriptor is therefore invariant to rotation and
translation by construction and tolerant of distortion through the Gaussians' widths; the
validity mask (cells inside the disc and inside the minutiae's convex hull enlarged by ω) lets
two partially overlapping impressions be compared only where both saw the skin.

Cylinders are built once per template here with vectorised numpy; comparing two cylinders is
popcount arithmetic on packed 64-bit words, done by `local_similarities` in compiled code
because it sits on the 1:1 and 1:N hot path.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numba import njit, uint64
from numpy.typing import NDArray

from matcher.fingerprint.types import MinutiaSet


@dataclass(frozen=True)
class MccParams:
    """Cylinder geometry; defaults are the published MCC values unless a comment says why."""

    radius: float = 70.0  # R: about two ridge periods beyond the typical inter-minutia gap
    cells: int = 16  # NS: cells per side of the square that holds the disc
    sections: int = 6  # ND: angular sections of the direction difference
    sigma_s: float = 28.0 / 3.0  # σS: spatial tolerance, absorbs local elastic distortion
    sigma_d: float = 2.0 * np.pi / 9.0  # σD: directional tolerance
    mu_psi: float = 0.01  # μΨ: a cell's bit is set when its summed contribution exceeds this
    omega: float = 50.0  # ω: the convex hull is enlarged by this much to count as foreground
    min_valid_fraction: float = 0.75  # minVC: share of disc cells that must be valid
    min_neighbours: int = 2  # minM: a cylinder needs this many minutiae around it
    max_angle: float = np.pi / 2  # cylinders whose directions differ more never match
    min_matchable_fraction: float = 0.6  # minME: share of disc cells valid in both cylinders

    @property
    def cell_words(self) -> int:
        """uint64 words holding one bit per cell (one angular section, or the validity mask)."""
        return (self.cells * self.cells + 63) // 64

    @property
    def words(self) -> int:
        """uint64 words per packed cylinder: every section starts on a word boundary."""
        return self.cell_words * self.sections


DEFAULT_MCC = MccParams()


@dataclass(frozen=True, eq=False)
class Cylinders:
    """The valid cylinders of one template, row i belonging to minutia `index[i]`."""

    # (n, words) cell bits, section-major, zero outside the validity mask.
    bits: NDArray[np.uint64]
    # (n, cell_words) validity of each cell; the same for every section, so stored once.
    mask: NDArray[np.uint64]
    index: NDArray[np.int64]  # (n,) position of the central minutia in the MinutiaSet


def _angle_difference(a: NDArray[np.floating], b: NDArray[np.floating]) -> NDArray[np.floating]:
    """b − a wrapped to [−π, π): how far b turns from a."""
    return np.mod(b - a + np.pi, 2.0 * np.pi) - np.pi


def _cell_offsets(params: MccParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cell centres in the cylinder's own frame (along and across the minutia direction)."""
    step = 2.0 * params.radius / params.cells
    centres = (np.arange(params.cells) - (params.cells - 1) / 2.0) * step
    along, across = np.meshgrid(centres, centres, indexing="ij")
    return along.ravel(), across.ravel()


def _distance_outside_hull(
    px: NDArray[np.float64], py: NDArray[np.float64], hull: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Euclidean distance of each point to a convex polygon (0 inside), fully vectorised.

    The enlarged-hull test of MCC is `distance ≤ ω`; doing it exactly on the polygon keeps the
    result independent of image size and of any rasterisation.
    """
    pts = np.stack([px, py], axis=-1)[:, None, :]  # (P, 1, 2)
    start = hull[None, :, :]  # (1, E, 2)
    end = np.roll(hull, -1, axis=0)[None, :, :]
    seg = end - start
    seg_len2 = np.maximum((seg**2).sum(-1), 1e-12)
    t = np.clip(((pts - start) * seg).sum(-1) / seg_len2, 0.0, 1.0)
    nearest = start + t[..., None] * seg
    dist = np.sqrt(((pts - nearest) ** 2).sum(-1)).min(axis=1)
    if len(hull) < 3:
        return dist
    cross = seg[..., 0] * (pts[..., 1] - start[..., 1]) - seg[..., 1] * (
        pts[..., 0] - start[..., 0]
    )
    inside = np.all(cross >= 0, axis=1) | np.all(cross <= 0, axis=1)
    return np.where(inside, 0.0, dist)


def build_cylinders(ms: MinutiaSet, params: MccParams = DEFAULT_MCC) -> Cylinders:
    """Compute the bit-based cylinder of every minutia and keep the valid ones."""
    n = len(ms)
    words = params.words
    if n == 0:
        return Cylinders(
            bits=np.zeros((0, words), dtype=np.uint64),
            mask=np.zeros((0, params.cell_words), dtype=np.uint64),
            index=np.zeros(0, dtype=np.int64),
        )
    x = ms.x.astype(np.float64)
    y = ms.y.astype(np.float64)
    theta = ms.direction.astype(np.float64)

    along, across = _cell_offsets(params)
    in_disc = along**2 + across**2 <= params.radius**2  # (C,)
    # Image y points down and directions turn counter-clockwise, so the direction vector is
    # (cos θ, −sin θ); the second axis is the same vector turned a quarter, keeping the frame
    # equivariant under any rotation of the finger.
    cos_t, sin_t = np.cos(theta)[:, None], np.sin(theta)[:, None]
    cx = x[:, None] + along[None, :] * cos_t + across[None, :] * sin_t  # (n, C)
    cy = y[:, None] - along[None, :] * sin_t + across[None, :] * cos_t

    hull_pts = cv2.convexHull(np.stack([x, y], axis=1).astype(np.float32)).reshape(-1, 2)
    outside = _distance_outside_hull(cx.ravel(), cy.ravel(), hull_pts.astype(np.float64))
    valid = in_disc[None, :] & (outside.reshape(n, -1) <= params.omega)  # (n, C)

    # Spatial contribution of every other minutia t to every cell of cylinder m.
    dx = cx[:, :, None] - x[None, None, :]
    dy = cy[:, :, None] - y[None, None, :]
    d2 = dx**2 + dy**2  # (n, C, n)
    reach2 = (3.0 * params.sigma_s) ** 2
    spatial = np.where(
        d2 <= reach2,
        np.exp(-d2 / (2.0 * params.sigma_s**2)) / (params.sigma_s * np.sqrt(2.0 * np.pi)),
        0.0,
    )
    spatial *= (1.0 - np.eye(n))[:, None, :]  # a minutia is not its own neighbour

    # Directional contribution of t to each angular section of m (Gaussian times section width).
    section_width = 2.0 * np.pi / params.sections
    section_angle = -np.pi + (np.arange(params.sections) + 0.5) * section_width
    rel_dir = _angle_difference(theta[:, None], theta[None, :])  # (n, n)
    gap = _angle_difference(rel_dir[:, :, None], section_angle[None, None, :])  # (n, n, ND)
    directional = (
        np.exp(-(gap**2) / (2.0 * params.sigma_d**2))
        / (params.sigma_d * np.sqrt(2.0 * np.pi))
        * section_width
    )
    contribution = np.matmul(spatial, directional)  # (n, C, ND)
    bits = (contribution > params.mu_psi) & valid[:, :, None]

    near = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :]) <= (
        params.radius + 3.0 * params.sigma_s
    )
    neighbours = near.sum(axis=1) - 1
    keep = (valid.sum(axis=1) >= params.min_valid_fraction * in_disc.sum()) & (
        neighbours >= params.min_neighbours
    )
    return Cylinders(
        bits=_pack(bits[keep].transpose(0, 2, 1), params.cell_words),
        mask=_pack(valid[keep][:, None, :], params.cell_words),
        index=np.flatnonzero(keep).astype(np.int64),
    )


def _pack(cells: NDArray[np.bool_], cell_words: int) -> NDArray[np.uint64]:
    """Pack (n, sections, C) booleans into (n, sections·cell_words) little-endian words."""
    n, sections, c = cells.shape
    padded = np.zeros((n, sections, cell_words * 64), dtype=np.bool_)
    padded[:, :, :c] = cells
    packed = np.packbits(padded.reshape(n, sections * cell_words * 64), axis=1, bitorder="little")
    return packed.view(np.uint64).copy()


@njit(inline="always")
def _popcount(v: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """Bit count of one word; LLVM turns this idiom into the CPU's popcnt instruction."""
    v = v - ((v >> uint64(1)) & uint64(0x5555555555555555))
    v = (v & uint64(0x3333333333333333)) + ((v >> uint64(2)) & uint64(0x3333333333333333))
    v = (v + (v >> uint64(4))) & uint64(0x0F0F0F0F0F0F0F0F)
    return (v * uint64(0x0101010101010101)) >> uint64(56)


@njit(cache=True, nogil=True)
def local_similarities(
    cells_a: NDArray[np.uint64],
    dir_a: NDArray[np.float32],
    cells_b: NDArray[np.uint64],
    dir_b: NDArray[np.float32],
    cell_words: int,
    max_angle: float,
    min_matchable_cells: int,
) -> NDArray[np.float32]:  # pragma: no cover - compiled
    """Matrix Γ of bit-based cylinder similarities, 0 where two cylinders are not matchable.

    `cells_*` rows are one cylinder each: `cell_words` words of validity mask, then the bits
    of every section (`join_cells`). Γ[i, j] = 1 − √|ca ⊕ cb| / (√|ca| + √|cb|), with ca, cb
    the bits restricted to the cells valid in both cylinders; pairs whose directions differ by
    more than `max_angle` or sharing fewer than `min_matchable_cells` valid cells score 0.
    """
    na, nb = cells_a.shape[0], cells_b.shape[0]
    words = cells_a.shape[1] - cell_words
    # Masks are stored once per cylinder; repeating them across sections here keeps the inner
    # loop uniform, so LLVM vectorises it (vector popcount where the CPU has one).
    full_a = np.empty((na, words), dtype=np.uint64)
    full_b = np.empty((nb, words), dtype=np.uint64)
    for w in range(words):
        full_a[:, w] = cells_a[:, w % cell_words]
        full_b[:, w] = cells_b[:, w % cell_words]
    out = np.zeros((na, nb), dtype=np.float32)
    for i in range(na):
        row_a, row_ma = cells_a[i, cell_words:], full_a[i]
        for j in range(nb):
            d = abs(dir_b[j] - dir_a[i])
            if d > np.pi:
                d = 2.0 * np.pi - d
            if d > max_angle:
                continue
            row_b, row_mb = cells_b[j, cell_words:], full_b[j]
            n_mask = uint64(0)
            for w in range(cell_words):
                n_mask += _popcount(row_ma[w] & row_mb[w])
            if n_mask < min_matchable_cells:
                continue
            n_a = uint64(0)
            n_b = uint64(0)
            n_x = uint64(0)
            for w in range(words):
                m = row_ma[w] & row_mb[w]
                ca = row_a[w] & m
                cb = row_b[w] & m
                n_a += _popcount(ca)
                n_b += _popcount(cb)
                n_x += _popcount(ca ^ cb)
            denom = np.sqrt(np.float64(n_a)) + np.sqrt(np.float64(n_b))
            if denom == 0.0:
                continue
            out[i, j] = 1.0 - np.sqrt(np.float64(n_x)) / denom
    return out


def join_cells(cyl: Cylinders) -> NDArray[np.uint64]:
    """One row per cylinder: its validity mask words, then its bit words (one array to pass)."""
    return np.ascontiguousarray(np.concatenate([cyl.mask, cyl.bits], axis=1))


def min_matchable_cells(params: MccParams = DEFAULT_MCC) -> int:
    """minME as a count of cells valid in both cylinders (a share of the disc's cells)."""
    along, across = _cell_offsets(params)
    disc_cells = int((along**2 + across**2 <= params.radius**2).sum())
    return int(np.ceil(params.min_matchable_fraction * disc_cells))
