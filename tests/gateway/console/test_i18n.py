"""Rupiah in the Indonesian format and times in the region's own zone."""

from __future__ import annotations

import datetime as dt

from gateway.console import i18n

MOMENT = dt.datetime(2026, 12, 5, 3, 30, tzinfo=dt.UTC)


def test_rupiah_is_written_the_indonesian_way_in_either_language() -> None:
    assert i18n.rupiah(1_925_000) == "Rp 1.925.000"
    assert i18n.rupiah(None) == "–"


def test_times_are_shown_in_the_zone_of_their_region() -> None:
    assert i18n.when(MOMENT, "id", "3201") == "5 Des 2026 10.30 WIB"
    assert i18n.when(MOMENT, "en", "7371") == "5 Dec 2026 11:30 WITA"
    assert i18n.when(MOMENT, "en", "9471") == "5 Dec 2026 12:30 WIT"
    assert i18n.when(MOMENT, "en") == "5 Dec 2026 10:30 WIB"


def test_every_message_has_both_languages() -> None:
    assert all(indonesian and english for indonesian, english in i18n.MESSAGES.values())
    assert i18n.translate("chain_ok", "en", n=3) == "Chain intact: 3 entries checked."
