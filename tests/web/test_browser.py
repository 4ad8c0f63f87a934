"""The review page in a real browser (Playwright on Debian's Chromium): sign in, read the
suggestions, accept a hold, edit a thank-you draft, dismiss one, snooze one, all in place;
the same without JavaScript; keyboard only; screenshots of every page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from e2e_support import serving
from sqlalchemy import select

from rapportd.agent.core import clock
from rapportd.agent.store.models import OutboxOperation, Suggestion

from .browser import shot, wait_until
from .conftest import World
from .seed import PASSWORD


@pytest.fixture
def site(world: World) -> Iterator[str]:
    with serving(world.app) as url:
        yield url


def sign_in(page: Any, site: str, email: str) -> None:
    page.goto(f"{site}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{site}/suggestions")


def ops_of(world: World, sid: int) -> list[tuple[str, str]]:
    with world.sessions() as db:
        rows = db.execute(
            select(OutboxOperation.op, OutboxOperation.state).where(
                OutboxOperation.suggestion_id == sid
            )
        ).all()
        return [(op, state) for op, state in rows]


def status_of(world: World, sid: int) -> str:
    with world.sessions() as db:
        s = db.get(Suggestion, sid)
        assert s is not None
        return s.status


def open_row(page: Any, sid: int) -> Any:
    """Open a suggestion's row (its summary line) and return the row."""
    row = page.locator(f"#s-{sid}")
    if row.locator("details.item").get_attribute("open") is None:
        row.locator("summary").first.click()
    return row


def test_review_flow_in_place(world: World, site: str, page: Any) -> None:
    sign_in(page, site, world.a.email)
    for label in (
        "Thank-you drafts",
        "Holds to accept",
        "Promises due",
        "Replies owed",
        "Check-ins",
    ):
        assert page.locator("h2", has_text=label).count() == 1
    assert page.locator("li.row").count() == 5
    assert page.locator("li.row details.item[open]").count() == 0  # one line each, closed
    assert not page.console_errors, page.console_errors
    shot(page, "suggestions")

    # a row opens in place, and its chart comes with it
    check_in = world.a.suggestions["check_in"]
    open_row(page, check_in)
    page.locator(f"#s-{check_in} svg.chart").wait_for()

    # accept the hold: the row answers in place, no navigation
    hold = world.a.suggestions["promise_hold"]
    open_row(page, hold).get_by_role("button", name="Accept hold").click()
    page.locator(f"#s-{hold} .answer .notice").wait_for()
    assert page.url == f"{site}/suggestions"
    assert "accepted" in page.locator(f"#s-{hold} .state").inner_text()
    assert "in your calendar" in page.locator(f"#s-{hold} .state").inner_text()
    assert status_of(world, hold) == "accepted"
    assert ("confirm_hold", "pending") in ops_of(world, hold)
    assert not page.console_errors, ("after accept", page.console_errors)

    # edit the thank-you draft
    thanks = world.a.suggestions["thank_you"]
    row = open_row(page, thanks)
    row.locator("details.edit summary").click()
    page.fill(f"#body-{thanks}", "Hi Ben,\n\nThanks for the sharp questions today.\n")
    row.get_by_role("button", name="Save draft").click()
    page.locator(f"#s-{thanks} .answer .notice").wait_for()
    assert "Thanks for the sharp questions" in page.locator(f"#s-{thanks} pre.body").inner_text()
    assert ("update_draft", "pending") in ops_of(world, thanks)

    # dismiss the check-in: its draft is removed from the mailbox
    open_row(page, check_in).get_by_role("button", name="Dismiss").click()
    page.locator(f"#s-{check_in} .answer .notice").wait_for()
    assert status_of(world, check_in) == "dismissed"
    assert ("delete_draft", "pending") in ops_of(world, check_in)

    # snooze the reply
    reply = world.a.suggestions["reply_needed"]
    until = (clock.now() + timedelta(days=5)).date().isoformat()
    row = open_row(page, reply)
    page.fill(f"#until-{reply}", until)
    row.get_by_role("button", name="Snooze").click()
    page.locator(f"#s-{reply} .answer .notice").wait_for()
    assert status_of(world, reply) == "snoozed"
    shot(page, "suggestions-after-actions")
    assert not [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e]
    assert not page.console_errors, page.console_errors


def test_every_page_renders(world: World, site: str, page: Any) -> None:
    page.goto(f"{site}/login")
    shot(page, "login")
    sign_in(page, site, world.a.email)
    for name, path in (
        ("suggestion", f"/suggestions/{world.a.suggestions['check_in']}"),
        ("contacts", "/contacts"),
        ("contact", f"/contacts/{world.a.contacts['ana']}"),
        ("accounts", "/accounts"),
        ("account", f"/accounts/{world.a.account_id}"),
        ("settings", "/settings"),
    ):
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        assert page.locator("h1").count() == 1
        shot(page, name)
    assert not page.console_errors, page.console_errors
    # someone else's suggestion is simply not there
    response = page.goto(f"{site}/suggestions/{world.b.suggestions['check_in']}")
    assert response is not None and response.status == 404
    assert "not yours" in page.locator("main").inner_text()


def test_phone_width(world: World, site: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, site, world.a.email)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than a phone"
        shot(page, "suggestions-phone")
        page.goto(f"{site}/contacts")
        shot(page, "contacts-phone")
    finally:
        context.close()


def test_works_without_javascript(world: World, site: str, browser: Any) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, site, world.a.email)
        hold = world.a.suggestions["promise_hold"]
        open_row(page, hold).get_by_role("button", name="Accept hold").click()
        page.wait_for_url(f"{site}/suggestions?done=accept*")
        # accepted, it has left the waiting list: the page's notice says so, with undo
        assert "Accepted" in page.locator("#flash .notice").inner_text()
        assert page.locator("#flash form.undo").count() == 1  # undo, without JavaScript too
        assert page.locator(f"#s-{hold}").count() == 0
        assert status_of(world, hold) == "accepted"
        thanks = world.a.suggestions["thank_you"]
        row = open_row(page, thanks)
        row.locator("details.edit summary").click()
        page.fill(f"#body-{thanks}", "Edited without JavaScript.\n")
        row.get_by_role("button", name="Save draft").click()
        page.wait_for_url(f"{site}/suggestions?done=edit*")
        assert "Edited without JavaScript." in page.locator(f"#s-{thanks} pre.body").inner_text()
    finally:
        context.close()


def test_keyboard_only(world: World, site: str, page: Any) -> None:
    page.goto(f"{site}/login")
    assert page.evaluate("document.activeElement.id") == "email"  # autofocus
    page.keyboard.type(world.a.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/suggestions")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    hold = world.a.suggestions["promise_hold"]
    for _ in range(200):  # Tab forward to the hold's line, open it with Enter
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.tagName === 'SUMMARY' && "
            f"document.activeElement.closest('li')?.id === 's-{hold}'"
        ):
            break
    else:
        pytest.fail("Tab never reached the hold's line")
    page.keyboard.press("Enter")
    for _ in range(3):  # the title's link, then the first action
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Accept hold":
            break
    assert page.evaluate("document.activeElement.textContent.trim()") == "Accept hold"
    page.keyboard.press("Enter")
    page.locator(f"#s-{hold} .answer .notice").wait_for()
    assert status_of(world, hold) == "accepted"
    # focus lands on the answer, so the keyboard user hears/sees it
    wait_until(page, "document.activeElement.className === 'notice'")
    # the focus ring is visible
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
