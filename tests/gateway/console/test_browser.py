"""The console in a real browser: Chromium driven by Playwright against a running gateway."""

from __future__ import annotations

import re
import threading

import httpx
from playwright.sync_api import Page, expect
from prometheus_client.parser import text_string_to_metric_families

from gateway.audit.service import entries_about
from gateway.client import SignatureAuth
from gateway.db import unit_of_work
from gateway.enrollment import repository as enrollment_repository
from gateway.registry import repository as registry_repository
from gateway.verification import repository as verification_repository
from tests.gateway.console.world import PASSWORD, ConsoleWorld


def sign_in(page: Page, world: ConsoleWorld, operator_id: str, password: str = PASSWORD) -> None:
    page.goto(f"{world.base_url}/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    page.get_by_label(re.compile("Operator id|ID operator")).fill(operator_id)
    page.get_by_label(re.compile("Password|Kata sandi")).fill(password)
    page.get_by_role("button", name=re.compile("Sign in|Masuk")).click()


def paid_total(page: Page) -> int:
    cells = page.locator('#day td[data-status="paid"]').all_inner_texts()
    return sum(int(c.replace(",", "").replace(".", "") or 0) for c in cells)


def test_sign_in_opens_the_dashboard_and_sets_a_strict_http_only_cookie(
    page: Page, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "ops-1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Payout day")
    cookie = next(c for c in page.context.cookies() if c["name"] == "satupintu_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_repeated_wrong_passwords_lock_the_account(page: Page, console_world: ConsoleWorld) -> None:
    for _ in range(3):
        sign_in(page, console_world, "locked-1", "not the password at all")
    expect(page.get_by_role("alert")).to_contain_text("locked")
    sign_in(page, console_world, "locked-1")  # the right password, too late
    expect(page.get_by_role("alert")).to_contain_text("locked")


def test_dashboard_follows_a_payout_wave_and_matches_the_metrics(
    page: Page, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "ops-1")
    before = paid_total(page)
    wave = threading.Thread(target=console_world.pay_wave, args=(4,))
    wave.start()
    try:
        expect(page.locator("#day")).not_to_have_text(
            page.locator("#day").inner_text(), timeout=15_000
        )
        page.wait_for_function(
            f"""() => [...document.querySelectorAll('#day td[data-status="paid"]')]
                .reduce((n, td) => n + parseInt(td.textContent.replace(/[.,]/g, '')), 0)
                > {before}""",
            timeout=15_000,
        )
    finally:
        wave.join()
    page.reload()
    exported = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(
            httpx.get(f"{console_world.base_url}/metrics").text
        )
        for sample in family.samples
    }
    rows = page.locator("#day tbody tr").all()
    assert rows
    for row in rows:
        region, programme = row.get_attribute("data-region"), row.get_attribute("data-programme")
        for status in ("due", "paid", "pending"):
            shown = int(re.sub(r"\D", "", row.locator(f'td[data-status="{status}"]').inner_text()))
            labels = (("programme", programme), ("region", region), ("status", status))
            assert exported[("satupintu_payout_day_households", labels)] == shown
    for budget in page.locator("#budgets tr[data-programme]").all():
        labels = (("programme", budget.get_attribute("data-programme")),)
        left = int(budget.locator("td[data-budget]").get_attribute("data-budget") or "")
        assert exported[("satupintu_programme_budget_left_rupiah", labels)] == left
    assert re.search(r"Rp \d{1,3}(\.\d{3})+", page.locator("#budgets").inner_text())


def test_case_worker_adjudicates_a_duplicate(page: Page, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "cw-1")
    page.get_by_role("link", name="Adjudication").click()
    page.get_by_role("link", name=console_world.adjudication).click()
    expect(page.get_by_text("False match rate")).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Minutiae"))).to_have_count(2)
    expect(page.get_by_role("img", name=re.compile("Iris code mask"))).to_have_count(2)
    page.get_by_label(re.compile("Same person: Refuse")).check()
    page.get_by_label("Reason").fill("Same fingers as the candidate, enrolled twice.")
    page.get_by_role("button", name="Decide").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    with unit_of_work(console_world.factory) as session:
        case = enrollment_repository.adjudication_by_reference(session, console_world.adjudication)
        assert case is not None and case.decision == "refuse" and case.adjudicator == "cw-1"


def test_case_worker_unlocks_a_beneficiary(page: Page, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "cw-1")
    page.get_by_role("link", name="Lockouts").click()
    row = page.get_by_role("row").filter(has_text=console_world.lockout)
    row.get_by_label("Reason").fill("Identity checked against the family card at the office.")
    row.get_by_role("button", name="Unlock").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.get_by_text(console_world.lockout)).to_have_count(0)
    with unit_of_work(console_world.factory) as session:
        lockout = verification_repository.lockout_by_reference(session, console_world.lockout)
        assert lockout is not None and lockout.unlocked_by == "cw-1"
        person = registry_repository.person_by_id(session, lockout.person_id)
        assert person is not None
        history = entries_about(session=session, subject=f"person:{person.reference}")
        assert [e.actor for e in history if e.kind == "unlock"] == ["operator:cw-1"]


def test_a_payout_in_review_needs_a_supervisors_second_signature(
    page: Page, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "ops-1")
    page.get_by_role("link", name="Payouts in review").click()
    page.get_by_role("link", name=console_world.review).click()
    page.get_by_label("Commit as paid").check()
    page.get_by_label("Reason").fill("The bank's branch confirmed the credit by phone.")
    page.get_by_label("Evidence").fill("call log 2026-12-05 BRI branch")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("Awaiting a supervisor's approval")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, console_world, "sup-1")
    page.goto(f"{console_world.base_url}/console/payouts/review/{console_world.review}")
    page.get_by_role("button", name=re.compile("Approve")).click()
    expect(page.locator("#payout-state")).to_have_text("committed")


def test_auditor_verifies_the_audit_chain(page: Page, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "aud-1")
    page.get_by_role("link", name="Audit").click()
    page.get_by_role("button", name="Verify the audit chain").click()
    expect(page.locator("#chain-result")).to_contain_text("Chain intact")


def test_a_terminal_key_opens_no_console_page(console_world: ConsoleWorld) -> None:
    auth = SignatureAuth(console_world.terminal.signer)
    for path in ("/console/", "/console/audit", "/console/dashboard/live"):
        answer = httpx.get(f"{console_world.base_url}{path}", auth=auth, follow_redirects=False)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "console_takes_no_api_keys"


def test_case_worker_sees_and_reaches_no_supervisor_action(
    page: Page, console_world: ConsoleWorld
) -> None:
    sign_in(page, console_world, "cw-1")
    expect(page.get_by_role("link", name="Payouts in review")).to_have_count(0)
    page.goto(f"{console_world.base_url}/console/payouts/review")
    expect(page.get_by_role("alert")).to_contain_text("role does not allow")
    page.goto(f"{console_world.base_url}/console/lockouts")
    expect(page.get_by_role("button", name="Allow cash-out")).to_have_count(0)
    csrf = page.locator('input[name="csrf"]').first.get_attribute("value")
    answer = page.request.post(
        f"{console_world.base_url}/console/payouts/review/any/approve",
        form={"csrf": csrf or ""},
        max_redirects=0,
    )
    assert answer.status == 403


def test_a_form_without_its_csrf_token_is_refused(page: Page, console_world: ConsoleWorld) -> None:
    sign_in(page, console_world, "ops-1")
    for form in ({}, {"csrf": "forged-token"}):
        answer = page.request.post(
            f"{console_world.base_url}/console/audit/verify", form=form, max_redirects=0
        )
        assert answer.status == 403
        assert "stale or forged" in answer.text()
    forged_sign_in = httpx.post(
        f"{console_world.base_url}/console/sign-in",
        data={"operator_id": "ops-1", "password": PASSWORD, "csrf": "guessed"},
    )
    assert forged_sign_in.status_code == 403
    assert "satupintu_console=" not in forged_sign_in.headers.get("set-cookie", "")
