"""The named index profiles and the gallery sizes they are chosen for."""

from __future__ import annotations

from matcher.index.settings import PROFILES, profile_for


def test_profiles_follow_the_gallery_size() -> None:
    assert [profile_for(n) for n in (0, 20_000, 20_001, 300_000, 300_001, 10**9)] == [
        "small",
        "small",
        "regional",
        "regional",
        "national",
        "national",
    ]
    assert PROFILES["small"].index_type == "flat"
    assert PROFILES["regional"].index_type == "ivf"
    assert PROFILES["national"].template_store == "compact"
