"""1:1 comparison on synthetic minutiae: separation, symmetry, invariance, edge cases."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from matcher.fingerprint.compare import (
    DEFAULT_CONSOLIDATION,
    Comparator,
    PreparedTemplate,
    compare,
    compare_prepared,
    prepare,
)
from matcher.fingerprint.types import MinutiaSet
from matcher.synthetic.minutiae import impression, master

FINGERS = 12


@pytest.fixture(scope="module")
def templates() -> list[list[PreparedTemplate]]:
    """Three impressions of each of FINGERS synthetic fingers."""
    return [
        [prepare(impression(master(500 + f), seed=k)) for k in range(3)] for f in range(FINGERS)
    ]


def _rigid(ms: MinutiaSet, angle: float, dx: float, dy: float) -> MinutiaSet:
    """The same minutiae turned by `angle` (counter-clockwise as seen) and shifted."""
    cx, cy = ms.width / 2, ms.height / 2
    c, s = np.cos(angle), np.sin(angle)
    x, y = ms.x - cx, ms.y - cy
    # Image y points down, so a visually counter-clockwise turn is this matrix.
    return MinutiaSet.from_arrays(
        cx + c * x + s * y + dx,
        cy - s * x + c * y + dy,
        ms.direction + angle,
        ms.kind,
        ms.quality,
        width=ms.width,
        height=ms.height,
    )


def test_genuine_scores_clear_impostors_by_a_margin(
    templates: list[list[PreparedTemplate]],
) -> None:
    genuine = [compare_prepared(f[0], f[k]) for f in templates for k in (1, 2)]
    impostor = [
        compare_prepared(templates[i][0], templates[j][1])
        for i in range(FINGERS)
        for j in range(FINGERS)
        if i != j
    ]
    assert min(genuine) > max(impostor)
    assert np.median(genuine) > 2.5 * np.median(impostor)


def test_comparison_is_symmetric(templates: list[list[PreparedTemplate]]) -> None:
    for f in range(4):
        a, b, c = templates[f][0], templates[f][1], templates[(f + 1) % FINGERS][2]
        assert compare_prepared(a, b) == pytest.approx(compare_prepared(b, a), abs=1e-9)
        assert compare_prepared(a, c) == pytest.approx(compare_prepared(c, a), abs=1e-9)


def test_self_comparison_scores_highest(templates: list[list[PreparedTemplate]]) -> None:
    for f in range(4):
        own = compare_prepared(templates[f][0], templates[f][0])
        assert own > 0.95
        others = [compare_prepared(templates[f][0], t) for row in templates for t in row]
        assert own == pytest.approx(max(others))


@pytest.mark.parametrize(
    ("angle", "dx", "dy"), [(0.0, 40.0, -25.0), (0.5, 0.0, 0.0), (-0.9, -30, 20)]
)
def test_rotated_and_translated_copies_still_match(angle: float, dx: float, dy: float) -> None:
    ms = impression(master(77), seed=0)
    moved = _rigid(ms, angle, dx, dy)
    same = compare(ms, moved)
    assert same > 0.9
    assert same > 10 * compare(ms, impression(master(78), seed=0))


def test_empty_and_tiny_templates_score_zero() -> None:
    empty = MinutiaSet.from_arrays([], [], [], width=300, height=300)
    ms = impression(master(5), seed=0)
    assert compare(empty, ms) == 0.0
    one = MinutiaSet.from_arrays([100.0], [100.0], [1.0], width=300, height=300)
    assert compare(one, ms) == 0.0


def test_prepared_template_exposes_fixed_length_codes() -> None:
    prepared = prepare(impression(master(9), seed=0))
    comparator = Comparator()
    assert prepared.bits.shape == (len(prepared), comparator.mcc.words)
    assert prepared.mask.shape == (len(prepared), comparator.mcc.cell_words)
    assert prepared.nbytes == prepared.geometry.nbytes + prepared.cells.nbytes
    scores = comparator.one_to_many(prepared, [prepared, prepare(impression(master(10), seed=0))])
    assert scores[0] > scores[1]


def _band(ms: MinutiaSet, low: float, high: float) -> MinutiaSet:
    """Only the minutiae between two heights (fractions of the image): a partial contact."""
    keep = (ms.y >= low * ms.height) & (ms.y < high * ms.height)
    return MinutiaSet.from_arrays(
        ms.x[keep], ms.y[keep], ms.direction[keep], ms.kind[keep], ms.quality[keep],
        width=ms.width, height=ms.height,
    )  # fmt: skip


def test_low_overlap_genuine_pairs_beat_impostors_by_counted_support() -> None:
    """Two captures sharing only a band of the finger: support counted over a fixed number
    of pairs (not averaged over every selected pair) keeps them well above impostors."""
    averaged = Comparator(consolidation=replace(DEFAULT_CONSOLIDATION, support_pairs=10**6))
    margins: dict[str, list[float]] = {"counted": [], "averaged": []}
    for f in range(6):
        top = prepare(_band(impression(master(600 + f), seed=0), 0.0, 0.6))
        bottom = prepare(_band(impression(master(600 + f), seed=1), 0.4, 1.0))
        others = [prepare(impression(master(700 + g), seed=0)) for g in range(6)]
        for name, comparator in (("counted", Comparator()), ("averaged", averaged)):
            impostor = max(max(comparator(top, o), comparator(bottom, o)) for o in others)
            margins[name].append(comparator(top, bottom) / impostor)
    assert min(margins["counted"]) > 5.0
    assert np.median(margins["counted"]) > np.median(margins["averaged"])
