"""Binarisation, thinning to one-pixel ridges, and the crossing number of every pixel.

Thinning is Zhang–Suen, vectorised: each pixel's 8 neighbours are packed into one byte by a
3×3 correlation with powers of two, and a 256-entry lookup table decides whether the pixel
may be deleted, so one sub-iteration is two OpenCV calls over the whole image. A final pass
removes the staircase corners Zhang–Suen leaves (pixels whose removal keeps the ridge
8-connected), because those would otherwise read as false bifurcations.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]

# Bit i of the neighbour code is ring position i, clockwise from north:
# N, NE, E, SE, S, SW, W, NW (Zhang–Suen's P2 … P9).
RING = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))
_CODE_KERNEL = np.zeros((3, 3), np.float32)
for _bit, (_dy, _dx) in enumerate(RING):
    _CODE_KERNEL[1 + _dy, 1 + _dx] = float(1 << _bit)


def neighbour_code(binary: U8) -> U8:
    """For every pixel, the byte of its 8 neighbours (binary must hold 0/1)."""
    return np.asarray(
        cv2.filter2D(binary, -1, _CODE_KERNEL, borderType=cv2.BORDER_CONSTANT), np.uint8
    )


def _bits(code: int) -> list[int]:
    return [(code >> i) & 1 for i in range(8)]


def _transitions(p: list[int]) -> int:
    """Number of 0→1 transitions around the ring (Zhang–Suen's A, half the crossing number)."""
    return sum(1 for i in range(8) if p[i] == 0 and p[(i + 1) % 8] == 1)


def _zhang_suen_luts() -> tuple[U8, U8]:
    first = np.zeros(256, np.uint8)
    second = np.zeros(256, np.uint8)
    for code in range(256):
        p = _bits(code)
        n, e, s, w = p[0], p[2], p[4], p[6]
        if not 2 <= sum(p) <= 6 or _transitions(p) != 1:
            continue
        if n * e * s == 0 and e * s * w == 0:
            first[code] = 1
        if n * e * w == 0 and n * s * w == 0:
            second[code] = 1
    return first, second


def _ring_components(p: list[int]) -> int:
    """8-connected groups among the set neighbours (centre excluded)."""
    cells = {RING[i] for i in range(8) if p[i]}
    seen: set[tuple[int, int]] = set()
    groups = 0
    for cell in cells:
        if cell in seen:
            continue
        groups += 1
        stack = [cell]
        while stack:
            cy, cx = stack.pop()
            if (cy, cx) in seen:
                continue
            seen.add((cy, cx))
            stack.extend(
                o for o in cells if o not in seen and max(abs(o[0] - cy), abs(o[1] - cx)) == 1
            )
    return groups


def _corner_luts() -> tuple[U8, ...]:
    """One table per corner (N+E, E+S, S+W, W+N): delete a staircase corner pixel."""
    tables = []
    for a, b in ((0, 2), (2, 4), (4, 6), (6, 0)):
        lut = np.zeros(256, np.uint8)
        for code in range(256):
            p = _bits(code)
            if p[a] and p[b] and sum(p) >= 2 and _ring_components(p) == 1:
                lut[code] = 1
        tables.append(lut)
    return tuple(tables)


def _crossing_lut() -> U8:
    lut = np.zeros(256, np.uint8)
    for code in range(256):
        lut[code] = _transitions(_bits(code))
    return lut


_ZS_FIRST, _ZS_SECOND = _zhang_suen_luts()
_CORNERS = _corner_luts()
_CROSSING = _crossing_lut()


def thin(binary: U8, max_iterations: int = 20) -> U8:
    """One-pixel-wide 8-connected skeleton of a 0/1 image.

    Only the bounding box of the ridges (plus a 1-px empty margin, so neighbour codes are
    the same as on the whole image) is processed: the finger rarely fills the frame.
    """
    rows = np.flatnonzero(binary.any(axis=1))
    cols = np.flatnonzero(binary.any(axis=0))
    out = np.zeros_like(binary)
    if len(rows) == 0:
        return out
    top, bottom = max(int(rows[0]) - 1, 0), min(int(rows[-1]) + 2, binary.shape[0])
    left, right = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, binary.shape[1])
    out[top:bottom, left:right] = _thin(
        np.ascontiguousarray(binary[top:bottom, left:right]), max_iterations
    )
    return out


def _thin(binary: U8, max_iterations: int) -> U8:
    img = binary.copy()
    for _ in range(max_iterations):
        changed = False
        for lut in (_ZS_FIRST, _ZS_SECOND):
            delete = np.asarray(cv2.LUT(neighbour_code(img), lut), np.uint8) & img
            if delete.any():
                img ^= delete
                changed = True
        if not changed:
            break
    for lut in _CORNERS:
        img ^= np.asarray(cv2.LUT(neighbour_code(img), lut), np.uint8) & img
    return img


def crossing_number(skeleton: U8) -> U8:
    """Crossing number of every skeleton pixel (0 elsewhere): 1 = ending, 3 = bifurcation."""
    return np.asarray(cv2.LUT(neighbour_code(skeleton), _CROSSING) * skeleton, np.uint8)


def binarise(enhanced: NDArray[np.float32], mask: NDArray[np.bool_]) -> U8:
    """Ridges (positive enhanced response) inside the foreground, as 0/1.

    Specks left by noise thin to tiny segments whose two endings the short-ridge rule of
    `minutiae` removes, so no separate speck filter is needed here.
    """
    return ((enhanced > 0) & mask).astype(np.uint8)
