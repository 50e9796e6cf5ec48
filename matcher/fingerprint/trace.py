"""Walking the skeleton from each minutia along each of its ridges (compiled with numba).

Tracing is inherently sequential (one pixel after another), so it is the one stage written as
loops; numba compiles it once (cached on disk) and it then costs microseconds per minutia.
For every branch leaving a minutia the walk records where it stopped and why, which is what
the false-minutia rules need (a spur is an ending whose ridge reaches a bifurcation within a
few pixels; a short ridge reaches another ending; a bridge joins two bifurcations), and the
point reached after a fixed length, which gives the minutia's direction.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

# Why a walk stopped (values of `stop`).
STOP_LENGTH = 0  # walked the full length without meeting anything
STOP_ENDING = 1  # reached another ridge ending
STOP_BIFURCATION = 3  # reached a bifurcation
STOP_DEAD = 4  # the skeleton ended without a minutia (e.g. at the mask border)

_DY = np.array([-1, -1, 0, 1, 1, 1, 0, -1], np.int64)
_DX = np.array([0, 1, 1, 1, 0, -1, -1, -1], np.int64)


@numba.njit(cache=True, nogil=True)
def _walk(
    skeleton: NDArray[np.uint8],
    crossing: NDArray[np.uint8],
    index: NDArray[np.int32],
    y0: int,
    x0: int,
    sy: int,
    sx: int,
    max_steps: int,
    dir_steps: int,
    path_y: NDArray[np.int64],
    path_x: NDArray[np.int64],
) -> tuple[int, int, int, int, int]:
    """Walk from (sy, sx), the first pixel of a branch of the minutia at (y0, x0)."""
    h, w = skeleton.shape
    path_y[0] = sy
    path_x[0] = sx
    n = 1
    cy, cx = sy, sx
    dy_pt, dx_pt = sy, sx
    stop = STOP_LENGTH
    other = -1
    for step in range(1, max_steps + 1):
        if step <= dir_steps:
            dy_pt, dx_pt = cy, cx
        c = crossing[cy, cx]
        if c == 1 or c >= 3:
            stop = STOP_ENDING if c == 1 else STOP_BIFURCATION
            other = index[cy, cx]
            return stop, other, step, dy_pt, dx_pt
        best_y, best_x, best_rank = -1, -1, 9
        for k in range(8):
            ny, nx = cy + _DY[k], cx + _DX[k]
            if ny < 0 or nx < 0 or ny >= h or nx >= w or skeleton[ny, nx] == 0:
                continue
            # Never step back to the start minutia's neighbourhood or onto the path.
            if abs(ny - y0) <= 1 and abs(nx - x0) <= 1:
                continue
            seen = False
            lo = n - 4 if n > 4 else 0
            for i in range(lo, n):
                if path_y[i] == ny and path_x[i] == nx:
                    seen = True
                    break
            if seen:
                continue
            rank = k & 1  # prefer 4-neighbours: diagonal moves skip a corner pixel
            if crossing[ny, nx] == 1 or crossing[ny, nx] >= 3:
                rank = -1  # always enter a minutia when it is adjacent
            if rank < best_rank:
                best_rank, best_y, best_x = rank, ny, nx
        if best_y < 0:
            return STOP_DEAD, -1, step, dy_pt, dx_pt
        cy, cx = best_y, best_x
        if n < path_y.shape[0]:
            path_y[n] = cy
            path_x[n] = cx
            n += 1
    return stop, other, max_steps, dy_pt, dx_pt


@numba.njit(cache=True, nogil=True)
def trace_all(
    skeleton: NDArray[np.uint8],
    crossing: NDArray[np.uint8],
    ys: NDArray[np.int64],
    xs: NDArray[np.int64],
    max_steps: int,
    dir_steps: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Trace up to three branches of every minutia.

    Returns, per minutia and branch (shape (n, 3), unused branches have stop −1):
    `stop` (why the walk ended), `other` (index of the minutia reached, or −1), `length`
    (pixels walked) and `vec` (n, 3, 2): the (dy, dx) from the minutia to the branch point
    `dir_steps` along.
    """
    h, w = skeleton.shape
    m = ys.shape[0]
    index = np.full((h, w), -1, np.int32)
    for i in range(m):
        index[ys[i], xs[i]] = i
    stop = np.full((m, 3), -1, np.int64)
    other = np.full((m, 3), -1, np.int64)
    length = np.zeros((m, 3), np.int64)
    vec = np.zeros((m, 3, 2), np.float64)
    path_y = np.zeros(max_steps + 2, np.int64)
    path_x = np.zeros(max_steps + 2, np.int64)
    for i in range(m):
        y0, x0 = ys[i], xs[i]
        ring = np.zeros(8, np.uint8)
        for k in range(8):
            ny, nx = y0 + _DY[k], x0 + _DX[k]
            if 0 <= ny < h and 0 <= nx < w and skeleton[ny, nx]:
                ring[k] = 1
        # Each run of set ring pixels is one branch; start it on its first 4-neighbour.
        b = 0
        for k in range(8):
            if ring[k] == 0 or ring[(k + 7) % 8] == 1:
                continue
            start = k
            j = k
            while ring[j] == 1 and b < 3:
                if (j & 1) == 0:
                    start = j
                    break
                j = (j + 1) % 8
                if j == k:
                    break
            if b >= 3:
                break
            s_, o_, l_, py, px = _walk(
                skeleton,
                crossing,
                index,
                y0,
                x0,
                y0 + _DY[start],
                x0 + _DX[start],
                max_steps,
                dir_steps,
                path_y,
                path_x,
            )
            stop[i, b] = s_
            other[i, b] = o_
            length[i, b] = l_
            vec[i, b, 0] = py - y0
            vec[i, b, 1] = px - x0
            b += 1
    return stop, other, length, vec
