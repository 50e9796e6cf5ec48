"""The gateway's fingerprint index follows the profile of the register's size."""

from __future__ import annotations

from gateway.indexing.identifiers import IdentifierFactory
from gateway.verification.settings import IdentitySettings
from matcher.index.settings import PROFILES, IndexSettings


def test_the_factory_fits_its_profile_unless_settings_are_fixed() -> None:
    auto = IdentifierFactory()
    auto.fit(100_000)
    assert auto.finger_settings == PROFILES["regional"] and auto.needs_centroids("finger")
    auto.fit(500)
    assert auto.finger_settings == PROFILES["small"]
    named = IdentifierFactory(finger_profile="national")
    named.fit(500)
    assert named.finger_settings == PROFILES["national"]
    fixed = IdentifierFactory(finger_settings=IndexSettings(shortlist=7))
    fixed.fit(10**6)
    assert fixed.finger_settings.shortlist == 7 and fixed.finger_settings.index_type == "flat"


def test_a_setting_given_field_by_field_fixes_them_all() -> None:
    assert IdentitySettings().finger_index_settings() is None
    fixed = IdentitySettings(finger_index_type="ivf").finger_index_settings()
    assert fixed is not None and fixed.index_type == "ivf"
    assert fixed.shortlist == IndexSettings().shortlist
