"""Synthetic eyes with each cause of failure on real captures: boundaries and refusals."""

from __future__ import annotations

import pytest

from matcher.iris.pipeline import extract_iris
from matcher.iris.types import IrisSegmentationError
from matcher.synthetic.iris import FAILURE_CAUSES, OCCLUDED, mean_boundary_error, render_eye

EYES = (11, 12, 13, 14, 15, 16)


@pytest.mark.parametrize("cause", sorted(FAILURE_CAUSES))
def test_boundaries_within_two_pixels(cause: str) -> None:
    settings = FAILURE_CAUSES[cause]
    errors = []
    for eye in EYES:
        cap = render_eye(eye, 0, settings)
        seg = extract_iris(cap.image).segmentation
        assert seg is not None
        for truth, found in ((cap.pupil, seg.pupil), (cap.limbus, seg.limbus)):
            errors.append(mean_boundary_error(truth, (found.x, found.y, found.r)))
    assert sum(errors) / len(errors) <= 2.0, (cause, [round(e, 2) for e in errors])
    assert max(errors) <= 4.0, (cause, [round(e, 2) for e in errors])


@pytest.mark.parametrize("eye", EYES)
def test_an_occluded_eye_is_refused_with_its_reason(eye: int) -> None:
    cap = render_eye(eye, 0, OCCLUDED)
    assert cap.visible_fraction < 0.5
    with pytest.raises(IrisSegmentationError) as err:
        extract_iris(cap.image)
    assert err.value.code == "iris_eye_closed"
    assert "open" in err.value.message or "closed" in err.value.message
