"""Templates that went through ISO/IEC 19794-2 records compare like the extracted ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.fingerprint import iso19794_2
from matcher.fingerprint.compare import compare, compare_prepared, prepare
from matcher.fingerprint.extract import extract
from matcher.synthetic.impressions import impression_image
from matcher.synthetic.ridges import master_fingerprint


@pytest.fixture(scope="module")
def captures() -> tuple:
    """Two extracted impressions of one synthetic finger and one of another."""
    finger, other = master_fingerprint(31), master_fingerprint(32)
    return (
        extract(impression_image(finger, 1).image),
        extract(impression_image(finger, 2).image),
        extract(impression_image(other, 1).image),
    )


def test_iso_record_of_an_extracted_image_matches_the_extraction(captures: tuple) -> None:
    first, second, stranger = captures
    [from_record] = iso19794_2.read(iso19794_2.write([first]))
    same = compare(first, from_record)
    assert same > 0.8  # only ISO's integer pixels and 1.4° angle steps differ
    assert compare(from_record, second) == pytest.approx(compare(first, second), abs=0.05)
    assert compare(from_record, second) > 2 * compare(from_record, stranger)


@pytest.mark.shared
def test_nist_sample_views_compare_consistently(shared_dir: Path) -> None:
    data = (
        shared_dir / "datasets" / "iso19794-2" / "nist-biomdi-annex-c2-example.raw"
    ).read_bytes()
    views = iso19794_2.read(data)
    assert [len(v) for v in views] == [27, 22]
    a, b = prepare(views[0]), prepare(views[1])
    assert compare_prepared(a, a) > 0.9
    assert compare_prepared(a, b) == pytest.approx(compare_prepared(b, a))
