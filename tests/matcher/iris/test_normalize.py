"""Rubber-sheet noise: the upper lid's lash shadow is masked from the limbus inwards."""

from __future__ import annotations

import numpy as np

from matcher.iris.normalize import lid_occlusion
from matcher.iris.params import IrisParams


def test_lash_shadow_grows_from_the_limbus_in_the_upper_half_only() -> None:
    n_r, n_a = 64, 256
    dark = np.zeros((n_r, n_a), dtype=bool)
    dark[40:, 200] = True  # lashes over the outer third at an upper angle
    dark[40:, 60] = True  # the same below the pupil: crypts, not lashes
    dark[10, 220] = True  # one dark crypt near the pupil at an upper angle
    occluded = lid_occlusion(dark, IrisParams(lash_occlusion_share=0.5))
    assert occluded[40:, 200].all()
    assert not occluded[:16, 200].any()  # 24 dark of the 48+ samples out to the limbus
    assert not occluded[:, 60].any()
    assert not occluded[:, 220].any()
