"""Image impressions: deterministic, varied, and their ground truth follows the pixels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gateway.cli import app
from matcher.synthetic.fvc import load_truth
from matcher.synthetic.impressions import (
    QUALITY_PRESETS,
    ImageImpressionParams,
    impression_image,
)
from matcher.synthetic.render import impressions_with_truth
from matcher.synthetic.ridges import MasterFingerprint, master_fingerprint


@pytest.fixture(scope="module")
def finger() -> MasterFingerprint:
    return master_fingerprint(31)


def test_impressions_are_deterministic_and_differ(finger: MasterFingerprint) -> None:
    a, b, c = (impression_image(finger, s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.image, b.image)
    assert a.image.dtype == np.uint8 and a.image.shape == finger.mask.shape
    assert np.mean(a.image != c.image) > 0.3


def test_truth_follows_the_warp(finger: MasterFingerprint) -> None:
    imp = impression_image(finger, 3)
    source = imp.minutiae.extras["source"]
    assert isinstance(source, np.ndarray) and len(source) == len(imp.minutiae) > 10
    m = finger.minutiae
    x, y = imp.warp.forward(m.x[source].astype(np.float64), m.y[source].astype(np.float64))
    np.testing.assert_allclose(imp.minutiae.x, x, atol=1e-3)
    np.testing.assert_allclose(imp.minutiae.y, y, atol=1e-3)


def test_truth_endings_point_into_dark_ridges_of_the_image(finger: MasterFingerprint) -> None:
    """Checks the image warp (inverse) against the truth warp (forward) on real pixels."""
    clean = ImageImpressionParams(pressure=0.0, max_noise=0.5, max_blur=0.5)
    imp = impression_image(finger, 4, clean)
    t = imp.minutiae
    endings = t.kind == 1
    ax = np.rint(t.x + 5 * np.cos(t.direction)).astype(int)[endings]
    ay = np.rint(t.y - 5 * np.sin(t.direction)).astype(int)[endings]
    bx = np.rint(t.x - 5 * np.cos(t.direction)).astype(int)[endings]
    by = np.rint(t.y + 5 * np.sin(t.direction)).astype(int)[endings]
    assert (imp.image[ay, ax] < imp.image[by, bx]).mean() > 0.8


def test_poor_captures_are_noisier_than_good_ones(finger: MasterFingerprint) -> None:
    def roughness(quality: str) -> float:
        image = impression_image(finger, 9, QUALITY_PRESETS[quality]).image.astype(np.float64)
        return float(np.median(np.abs(np.diff(image[:, :40], axis=1))))

    assert roughness("poor") > roughness("good")


def test_pressure_changes_ridge_thickness(finger: MasterFingerprint) -> None:
    def dark_share(pressure: float) -> float:
        imp = impression_image(finger, 5, ImageImpressionParams(pressure=pressure, max_noise=1))
        inside = imp.image < 200
        return float(np.mean(imp.image[inside] < 120))

    dry, normal, wet = dark_share(-0.8), dark_share(0.0), dark_share(0.8)
    assert dry < normal - 0.05 < wet - 0.1


def test_cli_writes_an_fvc_folder(tmp_path: Path) -> None:
    out = tmp_path / "db"
    result = CliRunner().invoke(
        app,
        [
            "synth",
            "fingerprints",
            "--fingers",
            "2",
            "--impressions",
            "2",
            "--workers",
            "1",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.png")) == ["1_1.png", "1_2.png", "2_1.png", "2_2.png"]
    truth = load_truth(out / "truth" / "2_1.json")
    assert len(truth) > 10
    doc = json.loads((out / "truth" / "2_1.json").read_text())
    assert doc["finger"] == 2 and doc["impression"] == 1
    bad = CliRunner().invoke(app, ["synth", "fingerprints", "--quality", "awful", str(out)])
    assert bad.exit_code != 0


def test_render_stream_yields_images_with_truth() -> None:
    pairs = list(impressions_with_truth(3, per_finger=2))
    assert len(pairs) == 3
    for pixels, truth in pairs:
        assert pixels.dtype == np.uint8 and pixels.ndim == 2
        assert len(truth) > 10 and truth.width == pixels.shape[1]
