"""Synthetic eye images are deterministic by seed and vary between captures."""

from __future__ import annotations

import numpy as np

from matcher.synthetic.iris import iris_texture, render_eye


def test_same_seeds_same_image() -> None:
    a, b = render_eye(3, 1), render_eye(3, 1)
    assert (a.image == b.image).all()
    assert a.pupil == b.pupil


def test_captures_of_one_eye_differ_but_share_the_texture() -> None:
    a, b = render_eye(3, 1), render_eye(3, 2)
    assert not (a.image == b.image).all()
    assert (iris_texture(3) == iris_texture(3)).all()
    assert not np.allclose(iris_texture(3), iris_texture(4))


def test_image_has_dark_pupil_bright_reflection_and_lids() -> None:
    cap = render_eye(2, 0)
    px, py, pr = cap.pupil
    img = cap.image.astype(int)
    assert img.shape == (280, 320)
    disc = img[int(py - pr / 2) : int(py + pr / 2), int(px - pr / 2) : int(px + pr / 2)]
    assert np.percentile(disc, 25) < 80  # dark, though a reflection may sit in it
    assert img.max() > 230  # specular reflection
    assert img[int(cap.upper_lid_y) - 5, int(cap.limbus[0])] > 120  # lid skin above the margin
    assert 0.25 < pr / cap.limbus[2] < 0.6
