"""The "Coming up" section in a real browser (Playwright on Debian's Chromium): two
meetings tomorrow with people outside, in order, each brief opening in place to who is
coming, the promise with its evidence link, and the thing to say."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from e2e_support import serving

from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import CalendarEvent, Contact

from .browser import shot
from .conftest import World
from .seed import NOW, PASSWORD


@pytest.fixture
def site(world: World) -> Iterator[str]:
    with serving(world.app) as url:
        yield url


def _meeting(world: World, hours: int, summary: str, contact: str) -> int:
    a = world.a
    with transaction(world.sessions) as db:
        c = db.get(Contact, a.contacts[contact])
        assert c is not None
        ev = CalendarEvent(
            owner_id=a.owner_id,
            account_id=a.account_id,
            provider_id=f"pw-{summary}",
            ical_uid=f"pw-{summary}",
            start_at=NOW + timedelta(hours=hours),
            end_at=NOW + timedelta(hours=hours + 1),
            summary=summary,
            organizer_is_self=True,
            self_response="accepted",
            attendees=[
                {"email": c.primary_address, "name": c.display_name, "response": "accepted"}
            ],
        )
        db.add(ev)
        db.flush()
        return ev.id


def test_coming_up_in_order_and_opens_in_place(world: World, site: str, page: Any) -> None:
    later = _meeting(world, 22, "Proposal walkthrough", "chloe")
    first = _meeting(world, 20, "Roadmap follow-up", "ben")
    page.goto(f"{site}/login")
    page.fill("#email", world.a.email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{site}/suggestions")
    section = page.locator("#coming-up")
    assert section.locator("h2").inner_text() == "Coming up"
    ids = section.locator("details.brief").evaluate_all("els => els.map(e => e.id)")
    assert ids == [f"brief-{first}", f"brief-{later}"]  # the day's meetings in order
    brief = page.locator(f"#brief-{later}")
    assert not brief.locator(".who").is_visible()  # closed until opened
    brief.locator("summary").click()
    assert "Chloé Martin" in brief.locator(".who").inner_text()
    fact = brief.locator(".facts li").first
    assert "I'll send you the revised proposal by Friday." in fact.inner_text()
    link = fact.locator("a")
    assert link.get_attribute("href").startswith("https://mail.google.com/")
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert "revised proposal" in brief.locator(".say").inner_text()
    shot(page, "coming-up")
