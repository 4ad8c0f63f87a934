"""The triage page in Chromium against the demo's world (tests/web/demo_store.py: the
scenario of ``rapportd demo`` in the sandbox, Gmail and Outlook connected through OAuth, one
cycle run by the daemon's own tasks). Each promise of the page is checked where it lands:
in the store and in the sandbox's mailboxes and calendars.

- edits: a blank or too long text is refused next to the field, the typed text kept, with
  and without JavaScript; body, subject and recipients reach the mailbox for both
  providers, an Outlook reply's subject included;
- keyboard: j/k, o, e, a, d (with a reason), s (with a date), x, z, ? (the help);
- bulk accept and dismiss; undo of the last action, before anything reaches the mailbox;
- dismiss reasons, and "never for this person" muting that person for that kind;
- a snooze leaves a draft the person changed where it is;
- deep links to the written draft or event;
- phone width.

The world is built once for the module (about 20 s), at a fixed instant (:data:`AT`, the
clock held there and ticking: the same suggestions every run); each test takes suggestions
no other test touched. Writes happen when the test runs the outbox (the daemon's write task, the
real connectors) at the time an action's undo window has passed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from e2e_support import serving
from sqlalchemy import select

from rapportd.agent.core import clock
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Feedback, Mute, Suggestion
from rapportd.agent.suggest.config import HOLD_KINDS
from rapportd.agent.web.app import create_app
from rapportd.connectors.sandbox.control import edited_raw
from rapportd.jobs import tasks

from .browser import shot, wait_until
from .demo_store import DemoStore, demo_store, draft_text, hold_confirmed
from .seed import PASSWORD

TAKEN: set[int] = set()

# The world's instant: the tests take 8 drafts (among them a reply in each provider and a
# second Gmail one) and 3 holds; at this instant the demo writes 14 drafts (6 Gmail, 4 of
# them replies; 5 Outlook replies) and 5 holds. Around the wall clock's instant it could
# write 7 drafts (CI, 2026-12-04 01:20 UTC: the last test found no Gmail draft left).
AT = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStore]:
    with demo_store(tmp_path_factory.mktemp("triage"), at=AT) as w:
        yield w


@pytest.fixture(scope="module")
def site(world: DemoStore) -> Iterator[str]:
    with serving(create_app(world.settings, world.sessions)) as url:
        yield url


@pytest.fixture
def desk(browser: Any, site: str, world: DemoStore) -> Iterator[Any]:
    """A signed-in page at 1366×900 with console errors collected."""
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.console_errors = errors
    sign_in(page, site, world.email)
    yield page
    context.close()


def sign_in(page: Any, site: str, email: str) -> None:
    page.goto(f"{site}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{site}/suggestions")


def take(world: DemoStore, want: Callable[[Suggestion], bool], what: str) -> Suggestion:
    """A written suggestion no test took yet, for which ``want`` holds (check-ins and
    reconnect holds last: one test needs one)."""
    for s in sorted(world.suggestions(), key=lambda s: (s.kind in CADENCE_KINDS, s.id)):
        if s.status == "written" and s.id not in TAKEN and want(s):
            TAKEN.add(s.id)
            return s
    pytest.fail(
        f"the demo wrote no (more) {what}: {[(s.kind, s.status) for s in world.suggestions()]}"
    )


def peek(world: DemoStore, want: Callable[[Suggestion], bool], what: str) -> Suggestion:
    """A written suggestion for a test that changes nothing (other tests may take it)."""
    for s in sorted(world.suggestions(), key=lambda s: s.id):
        if s.status == "written" and want(s):
            return s
    pytest.fail(f"the demo wrote no {what}")


# the kinds a cadence gap makes (a reconnect hold absorbs a check-in for the same person)
CADENCE_KINDS = ("check_in", "reconnect_hold")


def any_draft(s: Suggestion) -> bool:
    return s.kind not in HOLD_KINDS


def refusals_only(errors: list[str]) -> list[str]:
    """Console errors, but for the 422 answers of refused edits (Chromium logs each one)."""
    return [e for e in errors if "status of 422" not in e]


def draft_of(
    world: DemoStore, provider: str, *, reply: bool | None = None
) -> Callable[[Suggestion], bool]:
    def want(s: Suggestion) -> bool:
        if s.kind in HOLD_KINDS or world.provider_of(s) != provider:
            return False
        return reply is None or (s.reply_to_message_id is not None) == reply

    return want


def open_row(page: Any, sid: int) -> Any:
    row = page.locator(f"#s-{sid}")
    if row.locator("details.item").get_attribute("open") is None:
        row.locator("summary").first.click()
    return row


def focus_row(page: Any, sid: int) -> None:
    page.focus(f"#s-{sid} summary")


def wait_for_focus_to_move_on(page: Any, sid: int) -> None:
    """After a keyboard action on row ``sid``: htmx first focuses the answer's notice, the
    page then moves on to the next row (under load the two can be a while apart: wait for
    where the focus ends, not a moment)."""
    wait_until(
        page,
        "document.activeElement.tagName === 'SUMMARY' && "
        f"document.activeElement.closest('li.row')?.id !== 's-{sid}'",
        timeout=10,
    )


def focused_row(page: Any) -> str | None:
    found: str | None = page.evaluate("document.activeElement.closest('li.row')?.id ?? null")
    return found


def the_draft(world: DemoStore, s: Suggestion) -> Any:
    (msg,) = world.drafts(s)
    return msg


def feedback_of(world: DemoStore, sid: int) -> list[tuple[str, dict[str, Any]]]:
    with world.sessions() as db:  # closed at once: SQLite takes the write lock at BEGIN
        rows = db.execute(
            select(Feedback.outcome, Feedback.details).where(Feedback.suggestion_id == sid)
        )
        return [(outcome, dict(details)) for outcome, details in rows]


def text_of(msg: Any) -> str:
    return draft_text(msg).replace("\r\n", "\n")


# --- edits never lose anything ----------------------------------------------------------


def test_refused_edits_say_why_and_keep_the_text(world: DemoStore, desk: Any) -> None:
    page = desk
    s = peek(world, any_draft, "draft")  # every edit is refused: nothing changes
    before = text_of(the_draft(world, s))
    row = open_row(page, s.id)
    row.locator("details.edit summary").click()
    # a text of spaces and line breaks: refused next to the field, the text kept
    page.fill(f"#body-{s.id}", "   \n\n   ")
    page.fill(f"#subject-{s.id}", "My typed subject")
    row.get_by_role("button", name="Save draft").click()
    error = page.locator(f"#err-body-{s.id}")
    error.wait_for()
    assert "The text is empty" in error.inner_text()
    assert page.locator(f"#body-{s.id}").get_attribute("aria-describedby") == f"err-body-{s.id}"
    assert page.input_value(f"#body-{s.id}") == "   \n\n   "
    assert page.input_value(f"#subject-{s.id}") == "My typed subject"
    assert page.evaluate("document.activeElement.id") == f"body-{s.id}"  # on the field
    # over 20,000 characters: refused, nothing cut off
    long_text = "Long words. " * 1700  # 20,400 characters
    page.fill(f"#body-{s.id}", long_text)
    page.locator(f"#s-{s.id}").get_by_role("button", name="Save draft").click()
    page.locator(f"#err-body-{s.id}", has_text="20,400 characters").wait_for()
    assert len(page.input_value(f"#body-{s.id}")) == len(long_text)
    # a recipient that is not an address
    page.fill(f"#body-{s.id}", "Fine words.")
    page.fill(f"#to-{s.id}", "someone@client.example, nobody")
    page.locator(f"#s-{s.id}").get_by_role("button", name="Save draft").click()
    page.locator(f"#err-to-{s.id}", has_text="“nobody” is not an e-mail address").wait_for()
    shot(page, "triage-refused-edit")
    assert world.ops(s.id).get("update_draft") is None
    world.jobs.write_after_undo()
    assert text_of(the_draft(world, s)) == before  # the mailbox never saw any of it
    assert world.suggestion(s.id).subject != "My typed subject"
    assert not refusals_only(page.console_errors), page.console_errors


def test_refused_edit_without_javascript(world: DemoStore, site: str, browser: Any) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    try:
        sign_in(page, site, world.email)
        s = take(world, any_draft, "draft")
        row = open_row(page, s.id)
        row.locator("details.edit summary").click()
        page.fill(f"#body-{s.id}", " \t \n ")
        page.fill(f"#subject-{s.id}", "Kept subject")
        row.get_by_role("button", name="Save draft").click()
        page.wait_for_load_state()
        assert page.url.endswith(f"/suggestions/{s.id}/edit")  # the answer, not a redirect
        assert "Not saved: The text is empty" in page.locator("main").inner_text()
        assert "The text is empty" in page.locator(f"#err-body-{s.id}").inner_text()
        assert page.input_value(f"#body-{s.id}") == " \t \n "
        assert page.input_value(f"#subject-{s.id}") == "Kept subject"
        shot(page, "triage-refused-edit-nojs")
        # corrected, it goes through and reaches the mailbox
        page.fill(f"#body-{s.id}", "Written without JavaScript.")
        page.locator(f"#s-{s.id}").get_by_role("button", name="Save draft").click()
        page.wait_for_url("**/suggestions?done=edit*")
        world.jobs.write_after_undo()
        assert "Written without JavaScript." in text_of(the_draft(world, s))
        assert the_draft(world, s).header("Subject") == "Kept subject"
    finally:
        context.close()


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_every_edit_reaches_the_mailbox(world: DemoStore, desk: Any, provider: str) -> None:
    """Body, subject and recipients of a reply, for both providers (an Outlook reply's
    subject edit used to show on the page and never reach the mailbox)."""
    page = desk
    s = take(world, draft_of(world, provider, reply=True), f"{provider} reply draft")
    (before,) = world.drafts(s)
    row = open_row(page, s.id)
    row.locator("details.edit summary").click()
    subject = f"{s.subject} (edited {provider})"
    to = page.input_value(f"#to-{s.id}") + ", Zoe Example <zoe@partner.example>"
    page.fill(f"#to-{s.id}", to)
    page.fill(f"#subject-{s.id}", subject)
    page.fill(f"#body-{s.id}", f"Hello,\n\nEdited on the review page ({provider}).\n")
    row.get_by_role("button", name="Save draft").click()
    page.locator(f"#s-{s.id} .answer .notice").wait_for()
    assert world.jobs.write_outbox() == {}  # nothing before the undo window has passed
    world.jobs.write_after_undo()
    assert world.ops(s.id)["update_draft"] == "written", world.ops(s.id)
    (after,) = world.drafts(s)  # still one draft, in the same thread
    assert after.thread_id == before.thread_id
    assert after.header("Subject") == subject
    assert "zoe@partner.example" in (after.header("To") or "")
    assert f"Edited on the review page ({provider})." in text_of(after)
    # the fate check takes rapportd's own edit for what it is: still editable here
    world.jobs.run(tasks.FATES, s.account_id)
    assert world.suggestion(s.id).status == "written"


# --- the keyboard -----------------------------------------------------------------------


def test_keyboard_triage(world: DemoStore, desk: Any) -> None:
    page = desk
    page.keyboard.press("?")
    wait_until(page, "document.getElementById('shortcuts').open", timeout=10)
    assert "undo the last action" in page.locator("#shortcuts .sheet").inner_text()
    shot(page, "triage-help", full_page=False)
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('shortcuts').open")
    page.keyboard.press("j")
    first = focused_row(page)
    page.keyboard.press("j")
    second = focused_row(page)
    page.keyboard.press("k")
    assert first and second and first != second and focused_row(page) == first

    # rows the page offers keys for (another test, in any order, may have acted on some)
    live = set(page.eval_on_selector_all('li.row[data-live="1"]', "rows => rows.map(r => r.id)"))

    def on_page(want: Callable[[Suggestion], bool]) -> Callable[[Suggestion], bool]:
        return lambda s: want(s) and f"s-{s.id}" in live

    hold = take(world, on_page(lambda s: s.kind in HOLD_KINDS), "hold")
    dropped = take(world, on_page(any_draft), "draft")
    later = take(world, on_page(any_draft), "another draft")

    focus_row(page, dropped.id)
    page.keyboard.press("e")  # edit: the text has the focus, and keys are words again
    assert page.evaluate("document.activeElement.id") == f"body-{dropped.id}"
    page.keyboard.press("Control+End")
    page.keyboard.type(" a d s z")
    assert world.suggestion(dropped.id).status == "written"  # typing is not triage
    assert page.input_value(f"#body-{dropped.id}").endswith(" a d s z")
    page.keyboard.press("Escape")

    focus_row(page, hold.id)
    page.keyboard.press("o")
    assert page.locator(f"#d-{hold.id}").get_attribute("open") is not None
    page.keyboard.press("o")
    assert page.locator(f"#d-{hold.id}").get_attribute("open") is None
    page.keyboard.press("a")  # accept
    page.locator(f"#s-{hold.id} .answer .notice").wait_for()
    wait_for_focus_to_move_on(page, hold.id)

    focus_row(page, dropped.id)
    page.keyboard.press("d")  # dismiss: why?
    wait_until(page, "document.getElementById('dismiss-dialog').open", timeout=10)
    page.keyboard.press("2")  # already done
    page.locator(f"#s-{dropped.id} .answer .notice").wait_for()
    wait_for_focus_to_move_on(page, dropped.id)  # else it may take the focus from ``later``

    focus_row(page, later.id)
    page.keyboard.press("s")  # snooze: until when?
    wait_until(page, "document.getElementById('snooze-dialog').open", timeout=10)
    # the key's dialog opens (under load, after the key's handler has had its turn); Enter
    # presses the chooser's first button once the dialog has the focus
    wait_until(page, "document.activeElement.closest('#snooze-dialog') !== null", timeout=10)
    page.keyboard.press("Enter")  # a week
    page.locator(f"#s-{later.id} .answer .notice").wait_for()

    assert not page.console_errors, page.console_errors

    assert world.suggestion(hold.id).status == "accepted"
    assert world.suggestion(dropped.id).status == "dismissed"
    assert feedback_of(world, dropped.id) == [("dismissed", {"reason": "already_done"})]
    snoozed = world.suggestion(later.id)
    assert snoozed.status == "snoozed" and snoozed.snoozed_until is not None
    assert snoozed.snoozed_until > clock.now() + timedelta(days=5)
    world.jobs.write_after_undo()
    (event,) = world.holds(hold)
    assert hold_confirmed(world.provider_of(hold), event)
    assert world.drafts(dropped) == [] and world.drafts(later) == []


# --- bulk and undo ------------------------------------------------------------------------


def test_bulk_accept_then_undo_then_bulk_dismiss(world: DemoStore, desk: Any) -> None:
    page = desk
    world.jobs.write_after_undo()  # what the tests before this one left to write
    a = take(world, any_draft, "draft")
    b = take(world, any_draft, "another draft")
    before = {s.id: text_of(the_draft(world, s)) for s in (a, b)}
    for s in (a, b):
        focus_row(page, s.id)
        page.keyboard.press("x")
    wait_until(page, "document.getElementById('picked').textContent === '2 selected:'")
    page.keyboard.press("a")  # accepts the selected ones
    page.locator("#flash .notice", has_text="Accepted 2 suggestions.").wait_for()
    assert {world.suggestion(s.id).status for s in (a, b)} == {"accepted"}
    page.keyboard.press("z")  # one undo takes both back
    page.locator("#flash .notice", has_text="Undone").wait_for()
    assert {world.suggestion(s.id).status for s in (a, b)} == {"written"}
    assert feedback_of(world, a.id) == feedback_of(world, b.id) == []
    assert world.jobs.write_after_undo() == {}
    shot(page, "triage-after-undo", full_page=False)

    # select again (the boxes came back unticked) and dismiss them together, with a reason
    for s in (a, b):
        page.check(f"#pick-{s.id}")
    page.select_option("#bulk-reason", "not_relevant")
    page.get_by_role("button", name="Dismiss selected").click()
    page.locator("#flash .notice", has_text="Dismissed 2 suggestions.").wait_for()
    world.jobs.write_after_undo()
    assert world.drafts(a) == [] and world.drafts(b) == []
    # the window has passed: undo says so, visibly, and changes nothing
    page.keyboard.press("z")
    page.locator("#flash .error", has_text="to undo").wait_for()  # nothing / too late
    assert {world.suggestion(s.id).status for s in (a, b)} == {"dismissed"}
    assert before  # (the texts were there before)
    assert not [e for e in page.console_errors if "status of 409" not in e], page.console_errors


def test_undo_in_the_row_before_the_calendar_sees_it(world: DemoStore, desk: Any) -> None:
    page = desk
    s = take(world, lambda s: s.kind in HOLD_KINDS, "hold")
    (before,) = world.holds(s)
    ops = world.ops(s.id)
    open_row(page, s.id).get_by_role("button", name="Dismiss").click()
    page.locator(f"#s-{s.id} .answer form.undo").wait_for()
    assert "removed from your calendar" in page.locator(f"#s-{s.id} .answer").inner_text()
    page.locator(f"#s-{s.id} .answer form.undo button").click()
    page.locator("#flash .notice", has_text="Undone").wait_for()
    assert world.suggestion(s.id).status == "written"
    world.jobs.write_after_undo()
    assert world.ops(s.id) == ops  # no delete was ever queued
    (after,) = world.holds(s)  # the hold never left the calendar
    assert after.id == before.id


# --- dismiss reasons: never for this person ----------------------------------------------


def test_never_for_this_person_mutes_that_person_for_that_kind(
    world: DemoStore, desk: Any, site: str
) -> None:
    page = desk
    s = take(world, lambda s: s.kind in CADENCE_KINDS, "check-in or reconnect hold")
    focus_row(page, s.id)
    page.keyboard.press("d")
    page.keyboard.press("4")  # never for this person
    page.locator(f"#s-{s.id} .answer .notice", has_text="no more of these").wait_for()
    with world.sessions() as db:
        (mute,) = db.scalars(select(Mute).where(Mute.owner_id == world.owner_id)).all()
        assert mute.kind == s.kind and mute.contact_id == s.contact_id
    world.jobs.write_after_undo()
    # new evidence would bring a dismissed check-in back; the mute keeps it away
    with transaction(world.sessions) as db:
        row = db.get(Suggestion, s.id)
        assert row is not None
        row.evidence = "before the mute"
    world.jobs.plan_at(clock.now() + timedelta(minutes=1))
    assert world.suggestion(s.id).status == "dismissed"
    # Settings lists it; allowed again, the check-in comes back
    page.goto(f"{site}/settings")
    assert mute.address in page.locator("ul.muted").inner_text()
    shot(page, "triage-settings-muted")
    page.get_by_role("button", name="Allow again").click()
    page.wait_for_url("**/settings?saved=1")
    world.jobs.plan_at(clock.now() + timedelta(minutes=2))
    # it comes back, unless the person's one open suggestion is now another cadence kind
    # (while this kind was muted, the other one could take the place: one per person)
    mine = [x for x in world.suggestions() if x.contact_id == s.contact_id]
    open_now = {x.kind for x in mine if x.status in ("pending", "written", "proposed")}
    assert world.suggestion(s.id).status in ("pending", "written", "proposed") or (
        open_now and open_now <= set(CADENCE_KINDS) - {s.kind}
    ), [(x.kind, x.status) for x in mine]


# --- a snooze leaves a draft the person changed -----------------------------------------


def test_snooze_leaves_a_draft_the_person_changed(world: DemoStore, desk: Any) -> None:
    page = desk
    s = take(world, draft_of(world, "google"), "Gmail draft")  # (Gmail keeps the tag header)
    msg = the_draft(world, s)
    address = world.address_of(s)
    with world.sandbox.lock:  # the person edits the draft in Gmail
        box = world.sandbox.mailbox(address)
        (draft,) = [d for d in box.drafts.values() if d.message_id == msg.id]
        box.update_draft(draft.id, edited_raw(msg.raw, text="My own words, thanks.", subject=None))
    world.jobs.run(tasks.FATES, s.account_id)  # rapportd notices
    assert world.suggestion(s.id).status == "written", (s.kind, world.suggestion(s.id).status)
    page.reload()
    row = open_row(page, s.id)
    assert "it stays there while snoozed" in row.locator(f"#sn-{s.id}").inner_text()
    row.get_by_role("button", name="Snooze").click()
    page.locator(f"#s-{s.id} .answer .notice", has_text="stays there").wait_for()
    world.jobs.write_after_undo()
    assert "My own words, thanks." in text_of(the_draft(world, s))


# --- deep links -----------------------------------------------------------------------------


def test_links_open_the_item_itself(world: DemoStore, desk: Any) -> None:
    page = desk
    gmail = peek(world, draft_of(world, "google"), "Gmail draft")
    outlook = peek(world, draft_of(world, "microsoft"), "Outlook draft")
    holds = [s for s in world.suggestions() if s.kind in HOLD_KINDS and s.status == "written"]
    page.reload()
    href = open_row(page, gmail.id).locator("a.open").get_attribute("href")
    msg = the_draft(world, gmail)
    address = quote(world.address_of(gmail))
    assert href == f"https://mail.google.com/mail/u/?authuser={address}#drafts?compose={msg.id}"
    href = open_row(page, outlook.id).locator("a.open").get_attribute("href")
    assert href and href.startswith("https://outlook.") and the_draft(world, outlook).id in href
    for hold in holds:
        (event,) = world.holds(hold)
        link = open_row(page, hold.id).locator("a.open")
        assert event.id in (link.get_attribute("href") or ""), (
            hold.kind,
            link.get_attribute("href"),
        )
        assert link.inner_text().startswith("Open the hold in")


# --- a phone ----------------------------------------------------------------------------------


def test_phone_width(world: DemoStore, site: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, site, world.email)
        for path in ("/suggestions", "/contacts", "/accounts", "/settings"):
            page.goto(site + path)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow}px wider than the phone"
        page.goto(site + "/suggestions")
        first = page.locator("li.row").first
        first.locator("details.item > summary").click()
        button = first.locator(".actions button").first
        box = button.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 844  # the action, not scrolled to
        page.goto(site + "/contacts")
        cells = page.locator("table.contacts tbody tr").first.locator("td")
        assert cells.first.evaluate("td => getComputedStyle(td).display") == "block"
        labels = cells.evaluate_all("tds => tds.map(td => td.dataset.label)")
        assert labels == ["Strength", "Stage", "Rhythm", "Overdue", "Last contact", "Open promises"]
        assert page.locator("details.legend-terms").count() == 1
    finally:
        context.close()
