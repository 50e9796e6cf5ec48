"""Fingerprint local codes: invariant to placement, closer for mates than for strangers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher.fingerprint.compare import DEFAULT_COMPARATOR
from matcher.fingerprint.types import MinutiaSet
from matcher.index.finger_store import CompactCodec, PreparedCodec
from matcher.index.fingerprint import core_minutiae
from matcher.index.local_codes import (
    LocalCodeEncoder,
    LocalCodeParams,
    _cell_centres,
    described_minutiae,
    local_descriptors,
    whitening_key,
)
from matcher.index.whitening import DATA_FILE, WhiteningMismatch, read, write
from matcher.index.whitening_training import encoder_for, learn_whitening
from matcher.synthetic.minutiae import impression, master

from .conftest import Finger


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.unpackbits(a[:, None, :] ^ b[None, :, :], axis=2).sum(axis=2)


def test_codes_do_not_change_when_the_finger_moves(encoder: LocalCodeEncoder) -> None:
    finger = impression(master(5), seed=1)
    angle = 0.7
    c, s = np.cos(angle), np.sin(angle)
    # Rotation in image coordinates (y down): directions turn the other way round.
    x = c * finger.x + s * finger.y + 40.0
    y = -s * finger.x + c * finger.y + 300.0
    moved = MinutiaSet.from_arrays(
        x, y, finger.direction + angle, finger.kind, finger.quality, width=800, height=800
    )
    a, b = encoder.encode(finger), encoder.encode(moved)
    assert a.shape == b.shape and a.shape[1] == 32
    assert np.diag(_hamming(a, b)).mean() < 8  # of 256 bits: only rounding flips a bit


def test_mates_share_close_codes_strangers_do_not(
    encoder: LocalCodeEncoder, fingers: list[Finger]
) -> None:
    def closeness(a: np.ndarray, b: np.ndarray) -> int:
        # probe codes with a far-closer-than-chance partner (unrelated codes: 128 ± 8 bits)
        return int((_hamming(a, b).min(axis=1) < 80).sum())

    codes = [(encoder.encode(f.enrolled), encoder.encode(f.probe)) for f in fingers[:8]]
    for i, (_, probe) in enumerate(codes):
        mate = closeness(probe, codes[i][0])
        others = [closeness(probe, codes[j][0]) for j in range(len(codes)) if j != i]
        assert mate >= 5 and mate > 2 * max(others)
    bits = np.unpackbits(np.concatenate([c for c, _ in codes]), axis=1)
    assert 0.35 < bits.mean() < 0.65  # balanced, as the voting weight assumes


def test_prepared_codec_round_trips(fingers: list[Finger]) -> None:
    codec = PreparedCodec()
    template = fingers[0].enrolled
    back = codec.from_bytes(codec.to_bytes(template))
    assert np.array_equal(back.geometry, template.geometry)
    assert np.array_equal(back.cells, template.cells)
    assert back.cell_words == template.cell_words


def test_compact_codec_rebuilds_the_same_comparison(fingers: list[Finger]) -> None:
    codec = CompactCodec()
    template = fingers[0].enrolled
    data = codec.to_bytes(template)
    assert len(data) <= 3 + 6 * len(template)  # ~6 bytes a minutia, vs ~240 prepared
    back = codec.from_bytes(data)
    assert np.allclose(back.geometry, template.geometry, atol=0.1)
    probe, stranger = fingers[0].probe, fingers[1].probe
    assert DEFAULT_COMPARATOR(probe, back) == pytest.approx(
        DEFAULT_COMPARATOR(probe, template), abs=0.02
    )
    assert DEFAULT_COMPARATOR(stranger, back) < 0.5 * DEFAULT_COMPARATOR(probe, back)


def test_probe_sends_only_its_best_surrounded_codes(encoder: LocalCodeEncoder) -> None:
    finger = impression(master(11), seed=2)
    few = LocalCodeEncoder(LocalCodeParams(training_fingers=60, probe_codes=10), encoder.whitening)
    every, chosen = few.encode(finger), few.encode_probe(finger)
    assert len(every) > 10 and len(chosen) == 10
    # the chosen codes are enrolment codes (a subset), not new ones
    assert all((every == c).all(axis=1).any() for c in chosen)


def test_compiled_descriptor_follows_its_definition(encoder: LocalCodeEncoder) -> None:
    """One minutia's descriptor by the formula: Gaussians in its frame, times Gaussians of the
    direction difference, summed over neighbours within reach, square-rooted."""
    p = encoder.params
    finger = impression(master(17), seed=1)
    x, y, t = (np.asarray(a, np.float64) for a in (finger.x, finger.y, finger.direction))
    cu, cv = _cell_centres(p)
    i = int(np.argmin((x - x.mean()) ** 2 + (y - y.mean()) ** 2))
    dx, dy = x - x[i], y - y[i]
    near = (dx**2 + dy**2 < (p.radius + 3 * p.sigma_s) ** 2) & (np.arange(len(x)) != i)
    along = np.cos(t[i]) * dx - np.sin(t[i]) * dy
    across = np.sin(t[i]) * dx + np.cos(t[i]) * dy
    spatial = np.exp(
        -((along[:, None] - cu) ** 2 + (across[:, None] - cv) ** 2) / (2 * p.sigma_s**2)
    )
    rel = np.mod(t - t[i] + np.pi, 2 * np.pi) - np.pi
    centres = (np.arange(p.sections) + 0.5) * (2 * np.pi / p.sections) - np.pi
    gap = np.mod(rel[:, None] - centres + np.pi, 2 * np.pi) - np.pi
    directional = np.exp(-(gap**2) / (2 * p.sigma_d**2))
    expected = np.sqrt((spatial[near, :, None] * directional[near, None, :]).sum(axis=0)).ravel()
    assert near.sum() >= p.min_neighbours
    kept = local_descriptors(finger, p)
    assert np.isclose(kept, expected, atol=1e-9).all(axis=1).any()


def test_core_minutiae_keep_the_best_covered_cylinders(fingers: list[Finger]) -> None:
    full = fingers[0].probe
    core = core_minutiae(full, 12)
    valid = np.bitwise_count(full.mask).sum(axis=1)
    assert len(full) > 12 and len(core) == 12
    assert np.bitwise_count(core.mask).sum(axis=1).min() >= np.sort(valid)[-12]
    # rows are whole minutiae (geometry with its cylinder), kept in their original order
    rows = [int(np.flatnonzero((full.geometry == g).all(axis=1))[0]) for g in core.geometry]
    assert rows == sorted(rows)
    assert (full.cells[rows] == core.cells).all()
    assert core_minutiae(full, len(full)) is full
    # the core still recognises the mate better than a stranger
    mate, stranger = fingers[0].enrolled, fingers[1].enrolled
    assert DEFAULT_COMPARATOR(core, mate) > DEFAULT_COMPARATOR(core, stranger)


def test_whitening_brings_a_minutias_codes_closer_than_strangers_codes() -> None:
    """Whitening the within-finger covariance is the code's design: the same minutia in two
    impressions must find its own code before other fingers' codes more often than with the
    plain projection (measured 0.77 → 0.84 within a 70k-code pool's top 100)."""

    def own_code_first(params: LocalCodeParams) -> float:
        encoder = encoder_for(params)
        strangers = np.concatenate(
            [encoder.encode(impression(master(8000 + k), seed=3)) for k in range(60)]
        )
        wins = []
        for k in range(20):
            finger = master(9000 + k)
            a, b = impression(finger, seed=1), impression(finger, seed=2)
            da, rows_a = described_minutiae(a, params)
            db, rows_b = described_minutiae(b, params)
            codes_a, codes_b = encoder._codes(da), encoder._codes(db)
            source_b = list(b.extras["source"][rows_b])
            for i, src in enumerate(a.extras["source"][rows_a]):
                if src >= 0 and src in source_b:
                    own = _hamming(codes_a[i : i + 1], codes_b[[source_b.index(src)]])[0, 0]
                    wins.append(own < _hamming(codes_a[i : i + 1], strangers).min())
        return float(np.mean(wins))

    plain = own_code_first(LocalCodeParams(training_fingers=60, whitening_ridge=None))
    whitened = own_code_first(LocalCodeParams(training_fingers=60))
    assert whitened > plain + 0.03


def test_the_shipped_whitening_is_what_the_training_recipe_makes() -> None:
    """The data file is made by the command, not by hand: learning it again gives the same
    arrays, so the file and its recipe cannot drift apart unnoticed."""
    params = LocalCodeParams()
    shipped = LocalCodeEncoder().whitening
    learned = learn_whitening(params)
    assert shipped.matrix is not None and learned.matrix is not None
    np.testing.assert_array_equal(shipped.mean, learned.mean)
    np.testing.assert_array_equal(shipped.matrix, learned.matrix)


def test_an_altered_or_foreign_whitening_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WhiteningMismatch, match="other encoder parameters"):
        LocalCodeEncoder(LocalCodeParams(whitening_ridge=0.5))
    shipped = LocalCodeEncoder().whitening
    write(shipped, whitening_key(LocalCodeParams()), "test", tmp_path)
    assert read(tmp_path)[0] == whitening_key(LocalCodeParams())
    data = tmp_path / DATA_FILE
    altered = bytearray(data.read_bytes())
    altered[len(altered) // 2] ^= 1
    data.write_bytes(bytes(altered))
    with pytest.raises(WhiteningMismatch, match="does not match the hash"):
        read(tmp_path)
