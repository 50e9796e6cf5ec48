"""Iris fixtures: templates extracted from synthetic eye images, built once per session."""

from __future__ import annotations

import pytest

from matcher.iris.pipeline import extract_iris
from matcher.iris.types import IrisTemplate
from matcher.synthetic.iris import EyeCapture, render_eye


@pytest.fixture(scope="session")
def eye_captures() -> dict[tuple[int, int], EyeCapture]:
    """Captures (eye, capture) of three synthetic eyes, two captures each."""
    return {(e, c): render_eye(e, c) for e in (1, 2, 3) for c in (0, 1)}


@pytest.fixture(scope="session")
def eye_templates(
    eye_captures: dict[tuple[int, int], EyeCapture],
) -> dict[tuple[int, int], IrisTemplate]:
    return {key: extract_iris(cap.image) for key, cap in eye_captures.items()}
