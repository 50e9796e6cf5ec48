"""What the indexes answer when a search could not cover the whole gallery."""

from __future__ import annotations

from gateway.errors import Unavailable


class SearchIncomplete(Unavailable):
    """Part of the gallery did not answer in time, and nobody was found in the rest: the
    person may be enrolled where the search could not look, so "not found" would be false.
    The terminal tries again, or verifies 1:1 with the card."""

    code = "search_incomplete"
