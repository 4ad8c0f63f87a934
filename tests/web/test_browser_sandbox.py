"""The review page in a real browser against the demo's world: the scenario of
``rapportd demo`` served by the sandbox, both accounts connected through OAuth, one full
cycle run by the daemon's tasks. The owner signs in with the keyboard, sees the demo's
suggestions, accepts holds (the sandbox's calendars then show them confirmed), edits a
thank-you draft (the sandbox's draft then holds the new words), dismisses a draft (gone
from the sandbox), snoozes one (out of the mailbox while it sleeps, listed under Snoozed,
written again when it wakes), and every page renders. Between each browser action and the
sandbox check the test writes the ready outbox operations itself (the daemon's write task,
the real connectors), at the time the action's undo window has passed, so nothing depends
on timing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e_support import serving
from sqlalchemy import select

from rapportd.agent.core import clock
from rapportd.agent.store.models import Account, Suggestion
from rapportd.agent.suggest.config import HOLD_KINDS
from rapportd.agent.web.app import create_app
from rapportd.agent.web.presenters import GROUPS
from rapportd.jobs import tasks

from .browser import shot, wait_until
from .demo_store import DemoStore, demo_store, draft_text, hold_confirmed
from .seed import PASSWORD

LIVE = ("proposed", "pending", "written")


@pytest.fixture
def demo(browser: Any, isolated_settings: Path) -> Iterator[DemoStore]:
    # ``browser`` first: without Chromium the test skips before building the world
    with demo_store(isolated_settings) as world:
        yield world


@pytest.fixture
def site(demo: DemoStore) -> Iterator[str]:
    with serving(create_app(demo.settings, demo.sessions)) as url:
        yield url


def focused(page: Any) -> list[Any]:
    return list(
        page.evaluate(
            "[document.activeElement.tagName === 'SUMMARY' ? 'summary'"
            " : document.activeElement.textContent.trim(),"
            " document.activeElement.closest('li.row')?.id ?? null]"
        )
    )


def tab_to(page: Any, label: str, card_id: int, limit: int = 1500) -> int:
    """Press Tab until ``label`` (a button's text, or "summary": the row's line) of
    suggestion ``card_id`` has focus; the presses."""
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        if focused(page) == [label, f"s-{card_id}"]:
            return n
    pytest.fail(f"Tab never reached {label!r} of suggestion {card_id}")


def open_row(page: Any, sid: int) -> Any:
    row = page.locator(f"#s-{sid}")
    if row.locator("details.item").get_attribute("open") is None:
        row.locator("summary").first.click()
    return row


def pick(rows: list[Suggestion], kinds: tuple[str, ...], avoid: set[int]) -> Suggestion:
    """A written suggestion of the first kind in ``kinds`` that has one (later kinds are
    a fallback, so that the rules' tuning does not break the test)."""
    for kind in kinds:
        for s in rows:
            if s.kind == kind and s.status == "written" and s.id not in avoid:
                return s
    pytest.fail(f"the demo wrote no suggestion of kinds {kinds} (have {[r.kind for r in rows]})")


def wait_notice(page: Any, sid: int) -> str:
    page.locator(f"#s-{sid} .answer .notice").wait_for()
    return str(page.locator(f"#s-{sid} .state").inner_text())


def test_demo_scenario_review_writes_back(demo: DemoStore, site: str, page: Any) -> None:
    rows = sorted(demo.suggestions(), key=lambda s: s.id)
    live = [s for s in rows if s.status in LIVE]
    assert len(live) >= 10, [(s.kind, s.status) for s in rows]
    assert all(s.status == "written" for s in live), "the cycle left writes undone"

    # ---- sign in with the keyboard alone (the e-mail field has autofocus)
    page.goto(f"{site}/login")
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(demo.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site}/suggestions")

    # ---- the demo's suggestions, every one, under its group
    shown = page.locator("li.row").evaluate_all("cards => cards.map(c => c.id)")
    assert sorted(shown) == sorted(f"s-{s.id}" for s in live)
    for key, label, kinds in GROUPS:
        count = sum(1 for s in live if s.kind in kinds)
        heading = page.locator(f"#h-{key}")
        assert heading.count() == (1 if count else 0), label
        if count:
            assert heading.inner_text().startswith(label)
            assert page.locator(f"#g-{key} li.row").count() == count
    assert not page.console_errors, page.console_errors
    shot(page, "demo-suggestions")

    # ---- keyboard: skip link, Tab to the first hold's button, Enter; focus on the answer
    order = [int(i.removeprefix("s-")) for i in shown]
    by_id = {s.id: s for s in live}
    holds = [by_id[i] for i in order if by_id[i].kind in HOLD_KINDS]
    assert holds, "the demo wrote no hold"
    first_hold = holds[0]
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    tab_to(page, "summary", first_hold.id)
    page.keyboard.press("Enter")  # opens the line in place
    tab_to(page, "Accept hold", first_hold.id, limit=3)
    page.keyboard.press("Enter")
    assert "accepted" in wait_notice(page, first_hold.id)
    wait_until(page, "document.activeElement.className === 'notice'")
    page.keyboard.press("Tab")  # the focus ring is visible
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"

    # ---- and a hold of the other provider with the mouse
    accepted = [first_hold]
    other = [h for h in holds if demo.provider_of(h) != demo.provider_of(first_hold)]
    if other:
        open_row(page, other[0].id).get_by_role("button", name="Accept hold").click()
        assert "accepted" in wait_notice(page, other[0].id)
        accepted.append(other[0])
    for hold in accepted:
        assert demo.ops(hold.id)["confirm_hold"] == "pending"
        (event,) = demo.holds(hold)
        assert not hold_confirmed(demo.provider_of(hold), event), "confirmed before the write"
    assert demo.jobs.write_outbox() == {}, "nothing is written while it can be undone"
    demo.jobs.write_after_undo()
    for hold in accepted:
        assert demo.ops(hold.id)["confirm_hold"] == "written", demo.ops(hold.id)
        (event,) = demo.holds(hold)  # still exactly one event for the hold
        assert hold_confirmed(demo.provider_of(hold), event), (event.status, event.show_as)
        assert demo.suggestion(hold.id).status == "accepted"

    # ---- edit a thank-you draft (another draft when the hour gave none): the mailbox holds the new words
    thanks = pick(live, ("thank_you", "promise_follow_up", "reply_needed", "nudge"), set())
    (before,) = demo.drafts(thanks)
    new_words = f"Hi,\n\nThank you again for today; edited in the browser ({thanks.id}).\n"
    open_row(page, thanks.id).locator("details.edit summary").click()
    page.fill(f"#body-{thanks.id}", new_words)
    page.locator(f"#s-{thanks.id}").get_by_role("button", name="Save draft").click()
    wait_notice(page, thanks.id)
    assert new_words.strip() in page.locator(f"#s-{thanks.id} pre.body").inner_text()
    assert demo.ops(thanks.id)["update_draft"] == "pending"
    assert new_words.strip() not in draft_text(before)
    demo.jobs.write_after_undo()
    assert demo.ops(thanks.id)["update_draft"] == "written", demo.ops(thanks.id)
    (after,) = demo.drafts(thanks)  # the same draft, updated: still one
    assert new_words.strip() in draft_text(after).replace("\r\n", "\n")
    assert demo.suggestion(thanks.id).body.strip() == new_words.strip()

    # ---- dismiss a draft (another provider's when there is one): gone from the mailbox
    others = [s for s in live if s.kind not in HOLD_KINDS and s.id != thanks.id]
    others.sort(key=lambda s: demo.provider_of(s) == demo.provider_of(thanks))
    dismissed = others[0]
    assert len(demo.drafts(dismissed)) == 1
    open_row(page, dismissed.id).get_by_role("button", name="Dismiss").click()
    assert "dismissed" in wait_notice(page, dismissed.id)
    assert demo.ops(dismissed.id)["delete_draft"] == "pending"
    demo.jobs.write_after_undo()
    assert demo.ops(dismissed.id)["delete_draft"] == "written", demo.ops(dismissed.id)
    assert demo.drafts(dismissed) == []
    assert demo.suggestion(dismissed.id).status == "dismissed"

    # ---- snooze one: its untouched draft leaves the mailbox while it sleeps
    snoozed = pick(
        live,
        ("reply_needed", "check_in", "nudge", "promise_follow_up", "thank_you"),
        {thanks.id, dismissed.id},
    )
    (kept,) = demo.drafts(snoozed)
    until = (clock.now() + timedelta(days=5)).date()
    row = open_row(page, snoozed.id)
    assert "leaves" in row.locator(f"#sn-{snoozed.id}").inner_text()  # said before
    page.fill(f"#until-{snoozed.id}", until.isoformat())
    row.get_by_role("button", name="Snooze").click()
    assert "snoozed" in wait_notice(page, snoozed.id)
    notice = page.locator(f"#s-{snoozed.id} .answer .notice").inner_text()
    assert "written again when the snooze ends" in notice  # and after
    row_ = demo.suggestion(snoozed.id)
    assert row_.status == "snoozed" and row_.snoozed_until is not None
    assert row_.snoozed_until.date() in (until, until - timedelta(days=1))  # 08:00 local
    demo.jobs.write_after_undo()
    assert demo.drafts(snoozed) == [], "the snoozed draft is out of the mailbox"
    shot(page, "demo-suggestions-after-actions")
    assert not page.console_errors, page.console_errors

    # ---- the fate check after a sync takes rapportd's own writes for what they are
    with demo.sessions() as db:
        account_ids = list(db.scalars(select(Account.id).where(Account.owner_id == demo.owner_id)))
    fates = demo.jobs.run(tasks.FATES, *account_ids)
    assert fates == {f"{tasks.FATES}:ok": len(account_ids)}, fates
    assert demo.suggestion(thanks.id).status == "written"  # not "edited by the person"
    assert demo.ops(thanks.id)["create_draft"] == "written"
    assert demo.suggestion(snoozed.id).status == "snoozed"
    assert all(demo.suggestion(h.id).status == "accepted" for h in accepted)

    # ---- the snooze ends: the planner writes the draft again, the same words, once
    woke = demo.jobs.plan_at(row_.snoozed_until + timedelta(minutes=5))
    assert woke, woke
    (again,) = demo.drafts(snoozed)
    assert (
        draft_text(again).replace("\r\n", "\n").strip()
        == draft_text(kept).replace("\r\n", "\n").strip()
    )
    assert demo.suggestion(snoozed.id).status == "written"

    # ---- the lists after the actions, and every page, with screenshots
    page.goto(f"{site}/suggestions")
    now_live = {f"s-{s.id}" for s in demo.suggestions() if s.status in LIVE}
    shown = page.locator("li.row").evaluate_all("cards => cards.map(c => c.id)")
    assert set(shown) == now_live
    assert page.locator(f"#s-{thanks.id} .warn").count() == 0  # still editable here
    assert f"s-{snoozed.id}" in shown and f"s-{dismissed.id}" not in shown  # awake again
    page.goto(f"{site}/suggestions?view=done")
    assert page.locator("h2", has_text="Holds to accept").count() == 0  # done: "Holds"
    done = set(page.locator("li.row").evaluate_all("cs => cs.map(c => c.id)"))
    assert {f"s-{s.id}" for s in (*accepted, dismissed)} <= done
    shot(page, "demo-done")
    pages = [
        ("demo-suggestion", f"/suggestions/{thanks.id}"),
        ("demo-contacts", "/contacts"),
        *((("demo-contact", f"/contacts/{thanks.contact_id}"),) if thanks.contact_id else ()),
        ("demo-accounts", "/accounts"),
        *((f"demo-account-{i}", f"/accounts/{i}") for i in account_ids),
        ("demo-settings", "/settings"),
    ]
    for name, path in pages:
        response = page.goto(site + path)
        assert response is not None and response.status == 200, path
        assert page.locator("h1").count() == 1, path
        shot(page, name)
        if name == "demo-suggestion":  # the edited words, on the suggestion's own page
            assert "edited in the browser" in page.locator("main").inner_text()
    assert not page.console_errors, page.console_errors
