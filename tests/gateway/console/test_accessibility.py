"""Every console page passes axe-core in Chromium at 1280×800 and on a 360-px-wide phone
screen, without sideways scrolling; the screenshots in docs/console come from here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.gateway.console.test_browser import sign_in
from tests.gateway.console.world import ConsoleWorld

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def pages(world: ConsoleWorld) -> dict[str | None, list[tuple[str, str]]]:
    """Per operator: (screenshot name, path) of every page their role opens."""
    return {
        None: [("sign-in", "/console/sign-in")],
        "ops-1": [
            ("dashboard", "/console/"),
            ("review", "/console/payouts/review"),
            ("review-case", f"/console/payouts/review/{world.review}"),
            ("lockouts", "/console/lockouts"),
            ("terminals", "/console/terminals"),
            ("terminal", f"/console/terminals/{world.terminal.id}"),
            ("reconciliation", "/console/reconciliation"),
            ("audit", "/console/audit"),
        ],
        "cw-1": [
            ("adjudications", "/console/adjudications"),
            ("adjudication", f"/console/adjudications/{world.adjudication}"),
            ("lockouts-case-worker", "/console/lockouts"),
            ("forbidden", "/console/audit"),
        ],
    }


def violations(page: Page, axe: str) -> list[dict[str, Any]]:
    page.add_script_tag(content=axe)
    found: list[dict[str, Any]] = page.evaluate("async () => (await axe.run(document)).violations")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]]} for v in found]


def check(page: Page, axe: str, name: str, shots: Path) -> None:
    page.set_viewport_size(DESKTOP)
    assert violations(page, axe) == [], name
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    page.set_viewport_size(PHONE)
    assert violations(page, axe) == [], f"{name} at 360 px"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
    page.screenshot(path=shots / f"{name}-phone.png", full_page=True)


@pytest.mark.parametrize("operator", [None, "ops-1", "cw-1"])
def test_every_page_of_the_role(
    browser: Browser,
    operator: str | None,
    console_world: ConsoleWorld,
    axe_script: str,
    screenshots: Path,
) -> None:
    # The pages' Content-Security-Policy admits their own scripts only; axe is injected by
    # the test, so this context alone lets it in.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    page = context.new_page()
    try:
        if operator is not None:
            sign_in(page, console_world, operator)
        for name, path in pages(console_world)[operator]:
            page.goto(f"{console_world.base_url}{path}")
            check(page, axe_script, name, screenshots)
    finally:
        context.close()
