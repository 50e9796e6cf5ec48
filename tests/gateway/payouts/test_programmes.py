"""The programme catalogue loads from data and refuses inconsistent files with a location."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.payouts.programmes import (
    EXAMPLE_CONFIG,
    Period,
    ProgrammeConfigError,
    load_catalogue,
    parse_catalogue,
)


def _programme(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "code": "P",
        "name": "p",
        "cluster": "social_protection",
        "period": "monthly",
        "budget": 1000,
        "components": [{"code": "food", "per": "household", "amount": 10}],
    }
    base.update(overrides)
    return base


def test_example_catalogue_loads_every_programme() -> None:
    catalogue = load_catalogue(EXAMPLE_CONFIG)
    assert {p.code for p in catalogue.programmes} >= {"PKH", "SEMBAKO", "ATENSI_LANSIA"}
    assert catalogue.get("PKH").period is Period.QUARTERLY
    assert catalogue.get("PKH").max_counted_members == 4


def test_unknown_field_is_reported_with_its_location() -> None:
    with pytest.raises(ProgrammeConfigError, match=r"programmes\.0\.colour"):
        parse_catalogue({"programmes": [_programme(colour="red")]})


def test_person_component_without_stage_is_refused() -> None:
    bad = _programme(components=[{"code": "x", "per": "person", "amount": 5}])
    with pytest.raises(ProgrammeConfigError, match="names no stage"):
        parse_catalogue({"programmes": [bad]})


def test_exclusion_must_name_existing_components() -> None:
    with pytest.raises(ProgrammeConfigError, match=r"unknown component 'P\.nope'"):
        parse_catalogue({"programmes": [_programme()], "exclusive": [["P.food", "P.nope"]]})


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("programmes = [", encoding="utf-8")
    with pytest.raises(ProgrammeConfigError, match="cannot read"):
        load_catalogue(path)
