"""Ground-truth minutiae of a synthetic ridge pattern: thinning and crossing numbers.

The generator knows its ridges exactly, so the truth is read from the clean binary master:
thin it to one-pixel skeletons (Zhang–Suen, done with a 256-entry lookup table so each pass is
a handful of vectorised array operations), find endings (crossing number 1) and bifurcations
(crossing number 3), and give each a direction by walking a few pixels along its ridges.

Direction convention (the project's, after ISO/IEC 19794-2): an ending points along its ridge
away from the tip; a bifurcation points from the fork into the gap between its two branches.
The two are dual: a ridge ending is a valley bifurcation with the same direction.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from matcher.fingerprint.types import MinutiaKind

BoolImage = NDArray[np.bool_]

# Neighbour offsets (dy, dx) in Zhang–Suen order P2..P9: north, then clockwise.
_RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _zhang_suen_tables() -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Deletable-pixel tables for both sub-iterations, indexed by the 8-neighbour code."""
    first = np.zeros(256, dtype=bool)
    second = np.zeros(256, dtype=bool)
    for code in range(256):
        p = [(code >> i) & 1 for i in range(8)]  # p[0] = P2 … p[7] = P9
        b = sum(p)
        a = sum(1 for i in range(8) if p[i] == 0 and p[(i + 1) % 8] == 1)
        if not (2 <= b <= 6 and a == 1):
            continue
        p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
        first[code] = p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0
        second[code] = p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0
    return first, second


_FIRST, _SECOND = _zhang_suen_tables()


def _neighbour_code(img: NDArray[np.uint8]) -> NDArray[np.intp]:
    """For every pixel, its 8 neighbours packed into one byte (bit i = P(i+2))."""
    padded = np.pad(img, 1)
    h, w = img.shape
    code = np.zeros((h, w), dtype=np.intp)
    for bit, (dy, dx) in enumerate(_RING):
        code |= padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w].astype(np.intp) << bit
    return code


def thin(binary: BoolImage, max_passes: int = 50) -> BoolImage:
    """Zhang–Suen thinning of foreground (True) pixels to 8-connected one-pixel curves."""
    img = binary.astype(np.uint8)
    for _ in range(max_passes):
        changed = False
        for table in (_FIRST, _SECOND):
            delete = (img == 1) & table[_neighbour_code(img)]
            if delete.any():
                img[delete] = 0
                changed = True
        if not changed:
            break
    return img.astype(bool)


def crossing_numbers(skeleton: BoolImage) -> NDArray[np.uint8]:
    """CN = ½ Σ|Pᵢ − Pᵢ₊₁| around each skeleton pixel (0 elsewhere)."""
    code = _neighbour_code(skeleton.astype(np.uint8))
    table = np.array(
        [
            sum(((c >> i) & 1) != ((c >> ((i + 1) % 8)) & 1) for i in range(8)) // 2
            for c in range(256)
        ],
        dtype=np.uint8,
    )
    return np.where(skeleton, table[code], 0).astype(np.uint8)


def _walk(
    skeleton: BoolImage, y: int, x: int, first: tuple[int, int], steps: int
) -> tuple[int, int]:
    """Follow the skeleton from (y, x) through neighbour `first` for up to `steps` pixels.

    Every neighbour of a pixel left behind is marked as consumed, so the walk never turns
    back on a thin curve nor wanders into the minutia's other branches.
    """
    h, w = skeleton.shape

    def neighbours(cy: int, cx: int) -> list[tuple[int, int]]:
        found = []
        for dy, dx in sorted(_RING, key=lambda d: abs(d[0]) + abs(d[1])):
            ny, nx = cy + dy, cx + dx
            if 0 <= ny < h and 0 <= nx < w and skeleton[ny, nx]:
                found.append((ny, nx))
        return found

    cy, cx = y + first[0], x + first[1]
    consumed = {(y, x), *neighbours(y, x)}
    for _ in range(steps - 1):
        ahead = [p for p in neighbours(cy, cx) if p not in consumed]
        if not ahead:
            break
        consumed.update(neighbours(cy, cx))
        consumed.add((cy, cx))
        cy, cx = ahead[0]
    return cy, cx


def _branches(skeleton: BoolImage, y: int, x: int) -> list[tuple[int, int]]:
    """Skeleton neighbours of (y, x) that start distinct branches (one per transition)."""
    h, w = skeleton.shape
    on = [
        0 <= y + dy < h and 0 <= x + dx < w and bool(skeleton[y + dy, x + dx]) for dy, dx in _RING
    ]
    starts = []
    for i, (dy, dx) in enumerate(_RING):
        if on[i] and not on[i - 1]:
            starts.append((dy, dx))
    return starts


def skeleton_minutiae(
    skeleton: BoolImage,
    valid: BoolImage,
    flow: NDArray[np.float64] | None = None,
    trace_steps: int = 10,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.uint8]]:
    """Endings and bifurcations inside `valid`, with directions from the traced ridges.

    `flow`, the ridge orientation image in [0, π), refines each direction's axis; the traced
    branches then only decide its sense. Returns x, y, direction (radians, ISO convention)
    and kind arrays.
    """
    cn = crossing_numbers(skeleton)
    ys, xs = np.nonzero(((cn == 1) | (cn == 3)) & valid)
    out_x, out_y, out_d, out_k = [], [], [], []
    for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
        starts = _branches(skeleton, y, x)
        if cn[y, x] == 1 and len(starts) == 1:
            kind = MinutiaKind.ENDING
        elif cn[y, x] == 3 and len(starts) == 3:
            kind = MinutiaKind.BIFURCATION
        else:
            continue
        vectors = []
        for start in starts:
            ey, ex = _walk(skeleton, y, x, start, trace_steps)
            norm = np.hypot(ex - x, ey - y) or 1.0
            vectors.append(((ex - x) / norm, (ey - y) / norm))
        if kind == MinutiaKind.ENDING:
            vx, vy = vectors[0]
        else:
            # The stem is the branch least aligned with the other two; the fork points away.
            v = np.array(vectors)
            agreement = (v @ v.T).sum(axis=1)
            vx, vy = -v[int(np.argmin(agreement))]
        if flow is not None:
            # Snap to the ridge flow, which a few traced pixels estimate only coarsely.
            axis = float(flow[y, x])
            vx, vy = (
                (np.cos(axis), -np.sin(axis))
                if np.cos(axis) * vx - np.sin(axis) * vy >= 0
                else (-np.cos(axis), np.sin(axis))
            )
        out_x.append(float(x))
        out_y.append(float(y))
        out_d.append(float(np.mod(np.arctan2(-vy, vx), 2 * np.pi)))
        out_k.append(int(kind))
    return (
        np.array(out_x),
        np.array(out_y),
        np.array(out_d),
        np.array(out_k, dtype=np.uint8),
    )
