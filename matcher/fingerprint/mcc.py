"""Minutia Cylinder-Code descriptors, bit-based (Cappelli, Ferrara and Maltoni, TPAMI 2010).

Each minutia gets a cylinder: a disc of radius R centred on the minutia and turned to its
direction, cut into NS×NS spatial cells and ND angular sections. A cell's bit says whether
some neighbouring minutia lies near the cell centre with a direction (relative to the central
minutia) near the section's angle. The descriptor is therefore invariant to rotation and
translation by construction and tolerant of distortion through the Gaussians' widths; the
validity mask (cells inside the disc and inside the minutiae's convex hull enlarged by ω) lets
two partially overlapping impressions be compared only where both saw the skin.

Cylinders are built once per template, but every 1:1 verification builds them for its probe
fingers, so the per-cell sums run in compiled code (numba) that visits only valid cells and
nearby minutiae; comparing two cylinders is popcount arithmetic on packed 64-bit words, done
by `local_similarities` in compiled code because it sits on the 1:1 and 1:N hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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

    # (n, cell_words + words): the validity mask words (the same for every section, so stored
    # once), then the cell bits (section-major, zero outside the mask): the one array
    # `local_similarities` reads (`PreparedTemplate` splits it again).
    cells: NDArray[np.uint64]
    cell_words: int
    geometry: NDArray[np.float32]  # (n, 3): the central minutia's x, y and direction
    index: NDArray[np.int64]  # (n,) position of the central minutia in the MinutiaSet


def _cell_offsets(params: MccParams) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Cell centres in the cylinder's own frame (along and across the minutia direction)."""
    step = 2.0 * params.radius / params.cells
    centres = (np.arange(params.cells) - (params.cells - 1) / 2.0) * step
    along, across = np.meshgrid(centres, centres, indexing="ij")
    return along.ravel(), across.ravel()


@lru_cache(maxsize=8)
def _cylinder_frame(
    params: MccParams,
) -> tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    NDArray[np.float64],
    NDArray[np.float64],
]:
    """Cell offsets, disc membership, distances from the centre and section centre angles:
    fixed per geometry, so cached (rebuilding them cost a fifth of a template's preparation)."""
    along, across = _cell_offsets(params)
    in_disc = along**2 + across**2 <= params.radius**2
    radius = np.hypot(along, across)
    section_width = 2.0 * np.pi / params.sections
    section_angle = -np.pi + (np.arange(params.sections, dtype=np.float64) + 0.5) * section_width
    for array in (along, across, in_disc, radius, section_angle):
        array.flags.writeable = False
    return along, across, in_disc, radius, section_angle


@njit(cache=True, nogil=True)
def _hull_edges(hull: NDArray[np.float64]) -> NDArray[np.float64]:  # pragma: no cover
    """(E, 5) edges of a closed polygon: start x, start y, vector x, vector y, squared length.

    Computed once per template, so the per-cell loop neither wraps indices nor recomputes them.
    """
    e = hull.shape[0]
    edges = np.empty((e, 5))
    for k in range(e):
        nxt = k + 1 if k + 1 < e else 0
        vx = hull[nxt, 0] - hull[k, 0]
        vy = hull[nxt, 1] - hull[k, 1]
        edges[k, 0], edges[k, 1], edges[k, 2], edges[k, 3] = hull[k, 0], hull[k, 1], vx, vy
        edges[k, 4] = max(vx * vx + vy * vy, 1e-12)
    return edges


@njit(inline="always")
def _near_hull(
    px: float, py: float, edges: NDArray[np.float64], omega: float
) -> bool:  # pragma: no cover - compiled
    """Whether a point lies within ω of a convex polygon given by `_hull_edges`.

    The enlarged-hull test of MCC is `distance ≤ ω`; doing it exactly on the polygon keeps the
    result independent of image size and of any rasterisation. Inside means on the same side
    of every edge (the hull may turn either way); a hull of fewer than three points is a
    point or a segment, so only the distance counts. Outside, the first edge within ω
    decides: √ is monotonic, so that is the same verdict as the distance to the nearest edge.
    """
    e = edges.shape[0]
    if e >= 3:
        all_left = True
        all_right = True
        for k in range(e):
            cross = edges[k, 2] * (py - edges[k, 1]) - edges[k, 3] * (px - edges[k, 0])
            all_left = all_left and cross >= 0.0
            all_right = all_right and cross <= 0.0
            if not (all_left or all_right):
                break
        if all_left or all_right:
            return True
    for k in range(e):
        sx, sy, vx, vy = edges[k, 0], edges[k, 1], edges[k, 2], edges[k, 3]
        t = ((px - sx) * vx + (py - sy) * vy) / edges[k, 4]
        t = min(max(t, 0.0), 1.0)
        qx, qy = px - (sx + t * vx), py - (sy + t * vy)
        if np.sqrt(qx * qx + qy * qy) <= omega:
            return True
    return False


@njit(inline="always")
def _distance_to_edges(
    px: float, py: float, edges: NDArray[np.float64]
) -> float:  # pragma: no cover - compiled
    """Distance of a point to the nearest edge of a polygon given by `_hull_edges`."""
    nearest2 = np.inf
    for k in range(edges.shape[0]):
        sx, sy, vx, vy = edges[k, 0], edges[k, 1], edges[k, 2], edges[k, 3]
        t = min(max(((px - sx) * vx + (py - sy) * vy) / edges[k, 4], 0.0), 1.0)
        qx, qy = px - (sx + t * vx), py - (sy + t * vy)
        nearest2 = min(nearest2, qx * qx + qy * qy)
    return np.sqrt(nearest2)


@njit(cache=True, nogil=True)
def _cylinder_kernel(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    theta: NDArray[np.float64],
    cos_t: NDArray[np.float64],
    sin_t: NDArray[np.float64],
    along: NDArray[np.float64],
    across: NDArray[np.float64],
    in_disc: NDArray[np.bool_],
    cell_radius: NDArray[np.float64],
    hull: NDArray[np.float64],
    section_angle: NDArray[np.float64],
    min_neighbours: int,
    min_valid_cells: float,
    omega: float,
    sigma_s: float,
    sigma_d: float,
    mu_psi: float,
    radius: float,
    reach: float,
    cells: int,
    cell_words: int,
) -> tuple[NDArray[np.uint64], NDArray[np.float32], NDArray[np.int64]]:  # pragma: no cover
    """Cells (`Cylinders.cells` layout), geometry and central minutia of the valid cylinders.

    Per cylinder, per nearby minutia, per cell within 3σS of it: the work the dense
    formulation spent on cells outside the disc or the hull, on cells out of a minutia's reach
    and on cylinders that are then discarded is skipped, which is what makes template
    preparation take well under a millisecond. A cell's sums still add the minutiae in the
    same order, so the result is the same to the bit. Cell bit c of section k sits in word
    cell_words + k·cell_words + c // 64, bit c % 64 (the little-endian packing
    `local_similarities` reads); row words [0, cell_words) hold the validity mask.
    """
    n, n_cells, sections = x.shape[0], along.shape[0], section_angle.shape[0]
    reach2 = (3.0 * sigma_s) ** 2
    two_var = 2.0 * sigma_s**2
    norm = sigma_s * np.sqrt(2.0 * np.pi)
    edges = _hull_edges(hull)
    section_width = 2.0 * np.pi / sections
    two_var_d = 2.0 * sigma_d**2
    norm_d = sigma_d * np.sqrt(2.0 * np.pi)
    step = along[cells] - along[0]
    half = (cells - 1) / 2.0
    # Cells a minutia can reach lie in a square of ±(3σS + slack) around it in the cylinder
    # frame; the slack (far above rounding) only widens the square, the d² test decides.
    box = 3.0 * sigma_s + 1e-3 * (1.0 + sigma_s)
    slack = 1e-3 * (1.0 + omega)
    cx = np.empty(n_cells)
    cy = np.empty(n_cells)
    valid = np.zeros(n_cells, dtype=np.bool_)
    acc = np.empty((n_cells, sections))
    directional = np.empty(sections)  # one nearby minutia's weight in each section
    column_gauss = np.empty(cells)  # its spatial Gaussian factor per column of cells
    out = np.zeros((n, cell_words * (sections + 1)), dtype=np.uint64)
    geometry = np.empty((n, 3), dtype=np.float32)
    index = np.empty(n, dtype=np.int64)
    kept = 0
    for m in range(n):
        neighbours = 0
        for t in range(n):
            neighbours += t != m and np.hypot(x[t] - x[m], y[t] - y[m]) <= radius + 3.0 * sigma_s
        if neighbours < min_neighbours:
            continue
        # The minutia is a point of the hull, d from its boundary: a cell at r from the
        # minutia is at most r − d from the hull, so cells with r ≤ ω + d (less a margin far
        # above rounding) are valid without testing the hull.
        sure = omega - slack
        if edges.shape[0] >= 3:
            sure += _distance_to_edges(x[m], y[m], edges)
        n_valid = 0
        for c in range(n_cells):
            valid[c] = False
            if not in_disc[c]:
                continue
            # Image y points down and directions turn counter-clockwise, so the direction
            # vector is (cos θ, −sin θ); the second axis is the same vector turned a quarter,
            # keeping the frame equivariant under any rotation of the finger.
            cx[c] = x[m] + along[c] * cos_t[m] + across[c] * sin_t[m]
            cy[c] = y[m] - along[c] * sin_t[m] + across[c] * cos_t[m]
            valid[c] = cell_radius[c] <= sure or _near_hull(cx[c], cy[c], edges, omega)
            n_valid += valid[c]
        if n_valid < min_valid_cells:
            continue
        for c in range(n_cells):
            if valid[c]:
                out[kept, c // 64] |= uint64(1) << uint64(c % 64)
                acc[c, :] = 0.0
        # Only minutiae within R + 3σS of the centre can reach a cell of the disc.
        for t in range(n):
            dxm, dym = x[t] - x[m], y[t] - y[m]
            if t == m or dxm**2 + dym**2 > reach**2:
                continue
            # Directional contribution: Gaussian of the section's angular gap, times the
            # section width (both differences wrapped to [−π, π)).
            rel_dir = np.mod(theta[t] - theta[m] + np.pi, 2.0 * np.pi) - np.pi
            for k in range(sections):
                gap = np.mod(section_angle[k] - rel_dir + np.pi, 2.0 * np.pi) - np.pi
                directional[k] = np.exp(-(gap**2) / two_var_d) / norm_d * section_width
            # Minutia t in the cylinder frame, as fractional cell indices.
            a = (dxm * cos_t[m] - dym * sin_t[m]) / step + half
            b = (dxm * sin_t[m] + dym * cos_t[m]) / step + half
            i0, i1 = (
                max(int(np.ceil(a - box / step)), 0),
                min(int(np.floor(a + box / step)), cells - 1),
            )
            j0, j1 = (
                max(int(np.ceil(b - box / step)), 0),
                min(int(np.floor(b + box / step)), cells - 1),
            )
            # The frame is a rotation, so a cell's squared distance to t is the sum of the
            # squared offsets along the frame's axes, and the spatial Gaussian the product of
            # one factor per row and one per column: 2·7 exponentials instead of 7².
            for j in range(j0, j1 + 1):
                across_t = (j - b) * step
                column_gauss[j] = np.exp(-(across_t * across_t) / two_var) / norm
            for i in range(i0, i1 + 1):
                along_t = (i - a) * step
                along2 = along_t * along_t
                row_gauss = np.exp(-along2 / two_var)
                for j in range(j0, j1 + 1):
                    c = i * cells + j
                    if not valid[c]:
                        continue
                    across_t = (j - b) * step
                    if along2 + across_t * across_t <= reach2:
                        spatial = row_gauss * column_gauss[j]
                        for k in range(sections):
                            acc[c, k] += spatial * directional[k]
        for c in range(n_cells):
            if not valid[c]:
                continue
            word, bit = c // 64, uint64(1) << uint64(c % 64)
            for k in range(sections):
                if acc[c, k] > mu_psi:
                    out[kept, (k + 1) * cell_words + word] |= bit
        geometry[kept, 0], geometry[kept, 1], geometry[kept, 2] = x[m], y[m], theta[m]
        index[kept] = m
        kept += 1
    return out[:kept].copy(), geometry[:kept].copy(), index[:kept].copy()


def build_cylinders(ms: MinutiaSet, params: MccParams = DEFAULT_MCC) -> Cylinders:
    """Compute the bit-based cylinder of every minutia and keep the valid ones.

    Only the hull (OpenCV) and the directions' sines and cosines are computed here; everything
    else runs in one call of `_cylinder_kernel`, since per-call numpy work was a fifth of the
    preparation of a template.
    """
    if len(ms) == 0:
        return Cylinders(
            cells=np.zeros((0, params.cell_words + params.words), dtype=np.uint64),
            cell_words=params.cell_words,
            geometry=np.zeros((0, 3), dtype=np.float32),
            index=np.zeros(0, dtype=np.int64),
        )
    theta = ms.direction.astype(np.float64)
    along, across, in_disc, cell_radius, section_angle = _cylinder_frame(params)
    hull = cv2.convexHull(np.stack([ms.x, ms.y], axis=1)).reshape(-1, 2)
    cells, geometry, index = _cylinder_kernel(
        ms.x.astype(np.float64),
        ms.y.astype(np.float64),
        theta,
        np.cos(theta),
        np.sin(theta),
        along,
        across,
        in_disc,
        cell_radius,
        hull.astype(np.float64),
        section_angle,
        params.min_neighbours,
        params.min_valid_fraction * float(in_disc.sum()),
        params.omega,
        params.sigma_s,
        params.sigma_d,
        params.mu_psi,
        params.radius,
        # A hair of slack so rounding in the cell centres never prunes a contributing minutia.
        params.radius + 3.0 * params.sigma_s + 1e-6 * (1.0 + params.radius),
        params.cells,
        params.cell_words,
    )
    return Cylinders(cells=cells, cell_words=params.cell_words, geometry=geometry, index=index)


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
    of every section (`Cylinders.cells`). Γ[i, j] = 1 − √|ca ⊕ cb| / (√|ca| + √|cb|), with ca, cb
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


def min_matchable_cells(params: MccParams = DEFAULT_MCC) -> int:
    """minME as a count of cells valid in both cylinders (a share of the disc's cells)."""
    along, across = _cell_offsets(params)
    disc_cells = int((along**2 + across**2 <= params.radius**2).sum())
    return int(np.ceil(params.min_matchable_fraction * disc_cells))
