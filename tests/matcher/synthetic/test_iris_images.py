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


def test_lid_truth_matches_the_image_and_occlusion_lowers_the_visible_share() -> None:
    from matcher.synthetic.iris import OCCLUDED

    open_eye, closed = render_eye(4, 0), render_eye(4, 0, OCCLUDED)
    x0, y0, a = closed.upper_lid
    assert a > 0 and closed.lower_lid[2] < 0
    assert abs(y0 - closed.upper_lid_y) < 1e-9
    # Skin just above the upper margin, iris or lashes just below it, at the iris centre.
    assert closed.image[int(y0) - 4, int(x0)] > closed.image[int(y0) + 6, int(x0)]
    assert closed.visible_fraction < 0.35 < open_eye.visible_fraction
