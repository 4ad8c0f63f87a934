"""The review page in Chromium: how fast an owner triages, how tall the list is, how soon it
draws.

    .venv/bin/python benchmarks/triage.py [--seed 7] [--days 200] [--loads 7] [--screenshots]

The world is the demo's (the scenario of ``rapportd demo`` in the sandbox, Gmail and Outlook
connected through the real OAuth flows, one cycle run by the daemon's own tasks: sync,
analysis, plan, writes), served by the review page in this process; Chromium is Debian's
(/usr/bin/chromium) driven by Playwright.

keyboard
    20 suggestions triaged by keyboard only, in the list's order: 10 accepted, 5 dismissed
    (no reason), 5 snoozed (a week). Counted: every key press, from the signed-in page to
    the last answer. Then the outbox runs (the daemon's write task, the real connectors) at
    the time the undo window has passed, and the sandbox is checked: the accepted holds are
    confirmed, the dismissed and snoozed drafts are gone from the mailboxes.
height
    the page with 50 waiting suggestions (the demo's real ones plus copies of them: the
    figure is about rows of real shape), at 1366×900, before any is opened.
first render
    ``/suggestions`` with those 50 loaded ``--loads`` times in a fresh tab: first contentful
    paint and DOMContentLoaded from the navigation's start (Navigation/Paint Timing), median.

``--screenshots`` writes docs/screenshots/ (the list, and an opened row, at 1366×900 and
390×844) from the demo's real suggestions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the demo's world, as the browser tests build it

from e2e_support import serving  # noqa: E402
from sqlalchemy import delete, select  # noqa: E402
from web.browser import launched_browser  # noqa: E402
from web.demo_store import DemoStore, demo_store, hold_confirmed  # noqa: E402
from web.seed import PASSWORD  # noqa: E402

from rapportd.agent.core.logs import configure_logging  # noqa: E402
from rapportd.agent.store.db import transaction  # noqa: E402
from rapportd.agent.store.models import Suggestion  # noqa: E402
from rapportd.agent.suggest.config import HOLD_KINDS  # noqa: E402
from rapportd.agent.web.app import create_app  # noqa: E402

SHOTS = ROOT / "docs" / "screenshots"
DESK = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
COPY = ":benchmark-copy-"


class Keys:
    """The keyboard, counting every press."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.presses = 0

    def press(self, key: str) -> None:
        self.presses += 1
        self.page.keyboard.press(key)


def sign_in(page: Any, site: str, email: str) -> None:
    page.goto(f"{site}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{site}/suggestions")


def wait_js(page: Any, expression: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(expression)
        time.sleep(0.02)


def screenshots(browser: Any, site: str, email: str) -> list[str]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    made = []
    for name, viewport in (("1366", DESK), ("390", PHONE)):
        context = browser.new_context(viewport=viewport, is_mobile=viewport is PHONE)
        page = context.new_page()
        sign_in(page, site, email)
        page.screenshot(path=str(SHOTS / f"triage-{name}.png"))
        made.append(f"triage-{name}.png")
        page.locator("li.row details.item > summary").first.click()
        page.locator("li.row svg.chart").first.wait_for()
        page.screenshot(path=str(SHOTS / f"triage-{name}-open.png"))
        made.append(f"triage-{name}-open.png")
        if viewport is DESK:
            page.keyboard.press("Escape")
            page.goto(f"{site}/suggestions")
            page.keyboard.press("?")
            page.screenshot(path=str(SHOTS / "triage-help.png"))
            made.append("triage-help.png")
            page.goto(f"{site}/suggestions")
            page.screenshot(path=str(SHOTS / "suggestions.png"))  # the README's picture
            page.goto(f"{site}/contacts")
            page.screenshot(path=str(SHOTS / "contacts-1366.png"))
            made.append("contacts-1366.png")
        else:
            page.goto(f"{site}/contacts")
            page.screenshot(path=str(SHOTS / "contacts-390.png"))
            made.append("contacts-390.png")
        context.close()
    return made


def copies_to(world: DemoStore, total: int) -> int:
    """Copy the demo's waiting suggestions until ``total`` are waiting; returns the copies."""
    with transaction(world.sessions) as db:
        live = list(
            db.scalars(
                select(Suggestion).where(
                    Suggestion.owner_id == world.owner_id, Suggestion.status == "written"
                )
            )
        )
        made = 0
        while len(live) + made < total:
            src = live[made % len(live)]
            db.add(
                Suggestion(
                    **{
                        c: getattr(src, c)
                        for c in Suggestion.__table__.columns.keys()  # noqa: SIM118
                        if c not in ("id", "dedupe_key")
                    },
                    dedupe_key=f"{src.dedupe_key}{COPY}{made}",
                )
            )
            made += 1
    return made


def drop_copies(world: DemoStore) -> None:
    with transaction(world.sessions) as db:
        db.execute(delete(Suggestion).where(Suggestion.dedupe_key.contains(COPY)))


def measure_page(browser: Any, site: str, email: str, loads: int) -> dict[str, Any]:
    context = browser.new_context(viewport=DESK)
    page = context.new_page()
    sign_in(page, site, email)
    rows = page.locator("li.row").count()
    height = page.evaluate("document.documentElement.scrollHeight")
    opened = page.locator("li.row details.item[open]").count()
    fcp, dcl, ttfb = [], [], []
    for _ in range(loads):
        tab = context.new_page()
        tab.goto(f"{site}/suggestions", wait_until="load")
        timing = tab.evaluate(
            """() => {
              const nav = performance.getEntriesByType('navigation')[0];
              const paint = performance.getEntriesByName('first-contentful-paint')[0];
              return {fcp: paint ? paint.startTime : null,
                      dcl: nav.domContentLoadedEventEnd, ttfb: nav.responseStart};
            }"""
        )
        fcp.append(timing["fcp"])
        dcl.append(timing["dcl"])
        ttfb.append(timing["ttfb"])
        tab.close()
    context.close()
    return {
        "rows": rows,
        "opened": opened,
        "height": height,
        "fcp": fcp,
        "dcl": dcl,
        "ttfb": ttfb,
    }


def triage_by_keyboard(browser: Any, site: str, world: DemoStore) -> dict[str, Any]:
    context = browser.new_context(viewport=DESK)
    page = context.new_page()
    sign_in(page, site, world.email)
    keys = Keys(page)
    order = [
        int(i.removeprefix("s-"))
        for i in page.locator("li.row").evaluate_all("rs => rs.map(r => r.id)")
    ]
    if len(order) < 20:
        raise SystemExit(f"the demo wrote {len(order)} suggestions; the benchmark needs 20")
    plan = ["accept"] * 10 + ["dismiss"] * 5 + ["snooze"] * 5
    started = time.perf_counter()
    keys.press("j")  # the first suggestion
    done: dict[str, list[int]] = {"accept": [], "dismiss": [], "snooze": []}
    for n, verb in enumerate(plan):
        sid = order[n]
        focused = page.evaluate("document.activeElement.closest('li.row')?.id")
        if focused != f"s-{sid}":
            raise SystemExit(f"step {n}: the keyboard is on {focused}, not s-{sid}")
        if verb == "accept":
            keys.press("a")
        elif verb == "dismiss":
            keys.press("d")
            keys.press("Enter")  # no reason
        else:
            keys.press("s")
            keys.press("Enter")  # a week
        page.locator(f"#s-{sid} .answer .notice").wait_for()
        if n + 1 < len(plan):
            wait_js(page, f"document.activeElement.closest('li.row')?.id === 's-{order[n + 1]}'")
        done[verb].append(sid)
    seconds = time.perf_counter() - started
    context.close()
    statuses = {sid: world.suggestion(sid).status for sid in order[:20]}
    expected = {
        **{i: "accepted" for i in done["accept"]},
        **{i: "dismissed" for i in done["dismiss"]},
    }
    expected.update({i: "snoozed" for i in done["snooze"]})
    wrong = {i: (statuses[i], expected[i]) for i in expected if statuses[i] != expected[i]}
    if wrong:
        raise SystemExit(f"the store does not show what was done: {wrong}")
    world.jobs.write_after_undo()
    rows = {s.id: s for s in world.suggestions()}

    def in_mailbox(s: Suggestion) -> bool:
        return bool(world.holds(s) if s.kind in HOLD_KINDS else world.drafts(s))

    accepted = [rows[i] for i in done["accept"]]
    snoozed = [rows[i] for i in done["snooze"]]
    confirmed = 0
    for s in accepted:
        if s.kind in HOLD_KINDS:
            (event,) = world.holds(s)
            confirmed += hold_confirmed(world.provider_of(s), event)
    return {
        "presses": keys.presses,
        "seconds": seconds,
        "accepted": len(done["accept"]),
        "dismissed": len(done["dismiss"]),
        "snoozed": len(done["snooze"]),
        "accepted_holds": sum(s.kind in HOLD_KINDS for s in accepted),
        "holds_confirmed": confirmed,
        "accepted_drafts_kept": sum(in_mailbox(s) for s in accepted if s.kind not in HOLD_KINDS),
        "dismissed_gone": sum(not in_mailbox(rows[i]) for i in done["dismiss"]),
        "snoozed_drafts": sum(s.kind not in HOLD_KINDS for s in snoozed),
        "snoozed_drafts_gone": sum(not in_mailbox(s) for s in snoozed if s.kind not in HOLD_KINDS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=200)  # >= 20 suggestions waiting
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--screenshots", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    built = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        launched_browser() as browser,
        demo_store(Path(tmp) / "data", seed=args.seed, days=args.days) as world,
    ):
        print(
            f"world: the demo's, seed {args.seed}, {args.days} days, built in "
            f"{time.perf_counter() - built:.0f}s; {len([s for s in world.suggestions() if s.status == 'written'])} suggestions waiting"
        )
        app = create_app(world.settings, world.sessions)
        with serving(app) as site:
            if args.screenshots:
                print("screenshots:", ", ".join(screenshots(browser, site, world.email)))
            copies = copies_to(world, 50)
            page = measure_page(browser, site, world.email, args.loads)
            drop_copies(world)
            print(
                f"height: {page['rows']} suggestions ({copies} copies), {page['opened']} opened, "
                f"page {page['height']} px tall at 1366x900 (target < 3000)"
            )
            print(
                "first render: first contentful paint median "
                f"{statistics.median(page['fcp']):.0f} ms (of {', '.join(f'{v:.0f}' for v in page['fcp'])}); "
                f"DOMContentLoaded {statistics.median(page['dcl']):.0f} ms; "
                f"server answer {statistics.median(page['ttfb']):.0f} ms (target < 300)"
            )
            tri = triage_by_keyboard(browser, site, world)
            print(
                f"keyboard: {tri['accepted']} accepted, {tri['dismissed']} dismissed, "
                f"{tri['snoozed']} snoozed in {tri['presses']} key presses "
                f"(target <= 60), {tri['seconds']:.1f}s"
            )
            print(
                f"mailbox, after the undo window: {tri['holds_confirmed']}/{tri['accepted_holds']} "
                f"accepted holds confirmed, {tri['accepted_drafts_kept']}/"
                f"{tri['accepted'] - tri['accepted_holds']} accepted drafts still there to send, "
                f"{tri['dismissed_gone']}/{tri['dismissed']} dismissed items gone, "
                f"{tri['snoozed_drafts_gone']}/{tri['snoozed_drafts']} snoozed drafts out of the "
                "mailbox until they wake"
            )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load} ({os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
