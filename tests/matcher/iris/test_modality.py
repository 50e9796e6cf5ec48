"""The iris engine plugs into the accuracy harness by name (`--modality iris`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.evaluation.modality import FailureToEnrol, Modality
from matcher.evaluation.registry import create_modality
from matcher.synthetic.iris import encode_png, render_eye


def test_registry_finds_iris_and_scores_similarity(tmp_path: Path) -> None:
    modality = create_modality("iris")
    assert isinstance(modality, Modality)
    assert modality.name == "iris"
    for eye, capture in ((1, 0), (1, 1), (2, 0)):
        (tmp_path / f"{eye}_{capture}.png").write_bytes(encode_png(render_eye(eye, capture).image))
    a, b, c = (modality.load(tmp_path / n) for n in ("1_0.png", "1_1.png", "2_0.png"))
    assert modality.compare(a, b) > modality.compare(a, c)


def test_unusable_sample_is_a_failure_to_enrol(tmp_path: Path) -> None:
    bad = tmp_path / "3_1.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(FailureToEnrol) as err:
        create_modality("iris").load(bad)
    assert err.value.code == "iris_not_an_image"
