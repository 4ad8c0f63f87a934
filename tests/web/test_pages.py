"""The review pages over a seeded store: sign-in, the grouped suggestions with their
reasons, the actions (plain POST and htmx), contacts, accounts, settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rapportd.agent.store.models import Feedback, OutboxOperation, Owner, Suggestion

from .conftest import World, csrf_from


def test_pages_need_sign_in(world: World) -> None:
    with TestClient(world.app) as client:
        r = client.get("/suggestions", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/login?next=")
        assert client.get("/api/suggestions").status_code == 401


def test_wrong_password_is_refused(world: World) -> None:
    with TestClient(world.app) as client:
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"email": world.a.email, "password": "nope", "csrf_token": csrf_from(page.text)},
        )
        assert r.status_code == 401
        assert "Wrong email or password" in r.text
        assert client.get("/api/me").status_code == 401


def test_suggestions_grouped_with_reasons(world: World, client_a: tuple[TestClient, str]) -> None:
    client, _ = client_a
    r = client.get("/suggestions")
    assert r.status_code == 200
    html = r.text
    for label in (
        "Thank-you drafts",
        "Holds to accept",
        "Promises due",
        "Replies owed",
        "Check-ins",
    ):
        assert label in html
    assert "Thank you for the roadmap review" in html  # the draft text
    assert "usually every ~3 weeks; silent for 9 weeks" in html  # the rhythm
    assert "I&#39;ll send you the revised proposal by Friday." in html  # the promise quoted
    assert (
        "https://mail.google.com/mail/u/?authuser=alice%40example.com#all/18c2f0a1b2c3d4e5" in html
    )
    assert "<svg" not in html  # the list stays cheap: a row's chart comes when it opens
    assert "trust (months of contact, promises kept)" in html  # the stage, in plain words
    assert "Bob Stone" not in html and "bob@example.org" not in html
    sid = world.a.suggestions["check_in"]
    chart = client.get(f"/suggestions/{sid}/chart").text
    assert "<svg" in chart and 'role="img"' in chart  # the chart, loaded when the row opens
    assert f'hx-get="/suggestions/{sid}/chart"' in html
    assert "<svg" in client.get(f"/suggestions/{sid}").text  # and on the suggestion's page
    assert client.get(f"/suggestions/{world.b.suggestions['check_in']}/chart").status_code == 404


def test_accept_hold_plain_post(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    sid = world.a.suggestions["promise_hold"]
    r = client.post(
        f"/suggestions/{sid}/accept", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/suggestions?done=accept&sid={sid}")
    with world.sessions() as db:
        s = db.get(Suggestion, sid)
        assert s is not None and s.status == "accepted"
        ops = db.scalars(
            select(OutboxOperation.op).where(OutboxOperation.suggestion_id == sid)
        ).all()
        assert "confirm_hold" in ops
        assert (
            db.scalar(select(Feedback.outcome).where(Feedback.suggestion_id == sid)) == "accepted"
        )
    assert "Accepted: it is confirmed in your calendar" in client.get(r.headers["location"]).text


def test_edit_draft_htmx_in_place(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    sid = world.a.suggestions["thank_you"]
    r = client.post(
        f"/suggestions/{sid}/edit",
        data={"body": "Hi Ben,\n\nThanks a lot for today!\n", "subject": "Thanks!"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<li class="row kind-thank_you')
    assert "Thanks a lot for today!" in r.text and "Draft updated" in r.text
    with world.sessions() as db:
        s = db.get(Suggestion, sid)
        assert s is not None and s.subject == "Thanks!" and "Thanks a lot" in s.body
        op = db.scalar(
            select(OutboxOperation).where(
                OutboxOperation.suggestion_id == sid, OutboxOperation.op == "update_draft"
            )
        )
        assert op is not None and op.state == "pending" and "Thanks a lot" in op.payload["body"]


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"body": "  \n\t  \n"}, "body", "The text is empty"),
        ({"body": "y" * 20001}, "body", "20,001 characters"),
        ({"body": "Fine words.", "to": "ben@partner.org, not-an-address"}, "to", "not-an-address"),
        ({"body": "Fine words.", "to": " "}, "to", "at least one recipient"),
    ],
)
def test_refused_edit_says_why_next_to_the_field_and_keeps_the_text(
    world: World,
    client_a: tuple[TestClient, str],
    htmx: bool,
    change: dict[str, str],
    field: str,
    words: str,
) -> None:
    """A blank, too long or misaddressed edit is refused with the reason next to the field,
    with and without JavaScript, and what was typed is still in the form."""
    client, token = client_a
    sid = world.a.suggestions["thank_you"]
    typed = {"subject": "Typed subject", "to": "ben@partner.org", **change}
    headers = {"HX-Request": "true", "X-CSRF-Token": token} if htmx else {}
    data = typed if htmx else {**typed, "csrf_token": token}
    r = client.post(f"/suggestions/{sid}/edit", data=data, headers=headers)
    assert r.status_code == 422
    html = r.text
    assert f'id="err-{field}-{sid}"' in html and words in html
    assert f'aria-describedby="err-{field}-{sid}"' in html and 'aria-invalid="true"' in html
    assert 'value="Typed subject"' in html  # the typed text is kept
    if len(typed["body"]) < 100:
        assert typed["body"] in html.replace("&#39;", "'")
    else:
        assert html.count("y" * 20001) == 1
    if not htmx:
        assert html.lstrip().startswith("<!doctype html>") and "Not saved:" in html
    with world.sessions() as db:
        s = db.get(Suggestion, sid)
        assert s is not None and s.subject != "Typed subject"
        assert not db.scalars(
            select(OutboxOperation).where(
                OutboxOperation.suggestion_id == sid, OutboxOperation.op == "update_draft"
            )
        ).all()


def test_bulk_accept_and_dismiss_then_undo(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    hold, thanks = world.a.suggestions["promise_hold"], world.a.suggestions["thank_you"]
    with world.sessions() as db:
        before = {i: db.get(Suggestion, i).status for i in (hold, thanks)}  # type: ignore[union-attr]
    r = client.post(
        "/suggestions/bulk",
        data={"csrf_token": token, "action": "accept", "ids": [hold, thanks]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "done=bulk-accept&n=2" in r.headers["location"]
    page = client.get(r.headers["location"]).text
    assert "Accepted 2 suggestions." in page and 'name="batch"' in page
    with world.sessions() as db:
        assert {db.get(Suggestion, i).status for i in (hold, thanks)} == {"accepted"}  # type: ignore[union-attr]
    # one undo takes both back, and withdraws the writes they enqueued
    r = client.post("/suggestions/undo", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Undone" in client.get(r.headers["location"]).text
    with world.sessions() as db:
        assert {i: db.get(Suggestion, i).status for i in (hold, thanks)} == before  # type: ignore[union-attr]
        ops = db.scalars(select(OutboxOperation.op).where(OutboxOperation.suggestion_id == hold))
        assert "confirm_hold" not in set(ops)
        assert not db.scalars(select(Feedback).where(Feedback.suggestion_id == hold)).all()
    # with htmx: every changed row comes back out of band, and the page's notice
    r = client.post(
        "/suggestions/bulk",
        data={"action": "dismiss", "ids": [hold, thanks], "reason": "already_done"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert r.status_code == 200
    assert r.text.count('hx-swap-oob="true"') == 3 and "Dismissed 2 suggestions." in r.text
    with world.sessions() as db:
        reasons = db.scalars(
            select(Feedback.details).where(Feedback.suggestion_id.in_([hold, thanks]))
        ).all()
        assert reasons == [{"reason": "already_done"}] * 2
    nothing = client.post("/suggestions/bulk", data={"csrf_token": token, "action": "accept"})
    assert nothing.status_code == 422 and "Select suggestions first" in nothing.text


def test_edit_refused_when_changed_in_mailbox(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    client, token = client_a
    sid = world.a.suggestions["check_in"]
    with world.sessions() as db, db.begin():
        op = db.scalar(select(OutboxOperation).where(OutboxOperation.suggestion_id == sid))
        assert op is not None
        op.payload = {**op.payload, "last_state": {"edited": True}}
    page = client.get("/suggestions").text
    assert "You already changed this draft in Gmail; edit it there." in page
    r = client.post(f"/suggestions/{sid}/edit", data={"body": "new words", "csrf_token": token})
    assert r.status_code == 409
    assert "already changed in the mailbox" in r.text
    with world.sessions() as db:
        s = db.get(Suggestion, sid)
        assert s is not None and "new words" not in s.body


def test_snooze_and_dismiss(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    snoozed, dismissed = world.a.suggestions["reply_needed"], world.a.suggestions["check_in"]
    until = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    r = client.post(f"/suggestions/{snoozed}/snooze", data={"until": until, "csrf_token": token})
    assert r.status_code == 200
    r = client.post(
        f"/suggestions/{dismissed}/dismiss", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert r.status_code == 200 and "Dismissed" in r.text
    with world.sessions() as db:
        s = db.get(Suggestion, snoozed)
        assert s is not None and s.status == "snoozed" and s.snoozed_until is not None
        assert s.snoozed_until.date().isoformat() == until
        d = db.get(Suggestion, dismissed)
        assert d is not None and d.status == "dismissed"
        ops = db.scalars(
            select(OutboxOperation.op).where(OutboxOperation.suggestion_id == dismissed)
        ).all()
        assert "delete_draft" in ops
    inbox = client.get("/suggestions").text
    assert f'id="s-{snoozed}"' not in inbox and f'id="s-{dismissed}"' not in inbox
    assert f'id="s-{snoozed}"' in client.get("/suggestions?view=snoozed").text
    assert f'id="s-{dismissed}"' in client.get("/suggestions?view=done").text


def test_snooze_in_the_past_is_refused(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    sid = world.a.suggestions["reply_needed"]
    r = client.post(f"/suggestions/{sid}/snooze", data={"until": "2001-01-01", "csrf_token": token})
    assert r.status_code == 409 and "future" in r.text
    with world.sessions() as db:
        assert db.get(Suggestion, sid).status == "proposed"  # type: ignore[union-attr]


def test_contacts_sorted_and_detail(world: World, client_a: tuple[TestClient, str]) -> None:
    client, _ = client_a
    html = client.get("/contacts?sort=strength&order=desc").text
    assert html.index("Ana Lima") < html.index("Ben Okafor") < html.index("Chloé Martin")
    html = client.get("/contacts?sort=strength&order=asc").text
    assert html.index("Chloé Martin") < html.index("Ben Okafor") < html.index("Ana Lima")
    rows = client.get("/api/contacts?sort=overdue").json()
    assert rows[0]["name"] == "Ana Lima"
    chloe = next(r for r in rows if r["name"] == "Chloé Martin")
    assert chloe["promised_by_you"] == 1
    detail = client.get(f"/contacts/{world.a.contacts['ana']}")
    assert detail.status_code == 200 and "<svg" in detail.text and "every ~3 weeks" in detail.text


def test_accounts_page(world: World, client_a: tuple[TestClient, str]) -> None:
    client, _ = client_a
    html = client.get("/accounts").text
    assert "alice@example.com" in html and "9 requests, 41 units" in html
    with world.sessions() as db, db.begin():
        from rapportd.agent.store.models import Account

        acc = db.get(Account, world.a.account_id)
        assert acc is not None
        acc.status = "needs_reconsent"
    html = client.get("/accounts").text
    assert "Connect again" in html
    page = f"/accounts/{world.a.account_id}"
    assert "off: rapportd checks for news on a schedule" in client.get(page).text
    with world.sessions() as db, db.begin():
        from rapportd.agent.store.models import PushSubscription

        for n in range(2):
            db.add(
                PushSubscription(
                    owner_id=world.a.owner_id,
                    account_id=world.a.account_id,
                    provider="microsoft",
                    subscription_id=f"sub-{n}",
                    client_state_hash="h" * 64,
                    expires_at=datetime(2030, 1, 2 + n, 9, tzinfo=UTC),
                )
            )
    html = client.get(page).text
    assert "on (2 channels; renewed before" in html and "h" * 64 not in html


def test_settings_validated_and_stored(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    bad = client.post(
        "/settings",
        data={
            "csrf_token": token,
            "kinds": ["thank_you"],
            "quiet_hours": "25:00-7",
            "working_hours": "09:00-17:00",
            "working_days": ["0"],
            "timezone": "Mars/Olympus",
            "org_domains": "not a domain",
            "drafts_per_account_per_day": "3",
        },
    )
    assert bad.status_code == 422
    assert "quiet_hours" in bad.text and "timezone" in bad.text and "org_domains" in bad.text
    ok = client.post(
        "/settings",
        data={
            "csrf_token": token,
            "kinds": ["thank_you", "check_in"],
            "quiet_hours": "22:00-06:30",
            "working_hours": "08:00-16:00",
            "working_days": ["0", "1", "2"],
            "timezone": "Europe/Berlin",
            "org_domains": "example.com\nExample.NET",
            "drafts_per_account_per_day": "3",
            "llm_base_url": "http://127.0.0.1:9/v1",
            "llm_model": "small",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    with world.sessions() as db:
        owner = db.get(Owner, world.a.owner_id)
        assert owner is not None
        assert owner.preferences["suggestions"]["kinds"] == ["thank_you", "check_in"]
        assert owner.preferences["suggestions"]["drafts_per_account_per_day"] == 3
        assert owner.preferences["llm"] == {"base_url": "http://127.0.0.1:9/v1", "model": "small"}
        assert (
            owner.org_domains == ["example.com", "example.net"]
            and owner.timezone == "Europe/Berlin"
        )
    assert client.get("/api/settings").json()["working_days"] == [0, 1, 2]


def test_logout_revokes_the_session(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    cookie = client.cookies.get("rapportd_session")
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    with TestClient(world.app) as other:
        other.cookies.set("rapportd_session", cookie or "")
        assert other.get("/api/me").status_code == 401  # the copied cookie is dead


def test_new_session_id_at_sign_in(world: World) -> None:
    from .conftest import sign_in

    with TestClient(world.app) as client:
        client.get("/login")
        sign_in(client, world.a.email)
        first = client.cookies.get("rapportd_session")
        sign_in(client, world.a.email)
        second = client.cookies.get("rapportd_session")
        assert first and second and first != second
        with TestClient(world.app) as other:
            other.cookies.set("rapportd_session", first)
            assert other.get("/api/me").status_code == 401


def test_health_and_security_headers(world: World) -> None:
    with TestClient(world.app) as client:
        assert client.get("/healthz").text == "ok"
        r = client.get("/readyz")
        assert r.status_code == 200 and r.text == "ready"
        page = client.get("/login")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        set_cookie = page.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        assert "<script>" not in page.text  # no inline script anywhere
        js = client.get("/static/htmx.min.js")
        assert js.status_code == 200 and "Zero-Clause BSD" in js.text[:400]


def test_failed_sign_ins_are_throttled_before_the_password_is_checked(world: World) -> None:
    from rapportd.agent.web.throttle import LoginThrottle

    from .conftest import PASSWORD

    clock = [0.0]
    world.app.state.login_throttle = LoginThrottle(clock=lambda: clock[0])

    def attempt(client: TestClient, email: str, password: str) -> int:
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
            follow_redirects=False,
        )
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) > 0 and "Too many" in r.text
        return r.status_code

    with TestClient(world.app) as client:
        codes = [attempt(client, world.a.email, f"guess-{i}") for i in range(5)]
        assert codes == [401] * 5
        # the right password no longer helps: refused before it is checked
        assert attempt(client, world.a.email, PASSWORD) == 429
        assert attempt(client, world.a.email.upper(), "guess") == 429  # same account
        # another account from the same client is not locked by these five
        assert attempt(client, world.b.email, PASSWORD) == 303
        clock[0] += 15 * 60 + 1
        assert attempt(client, world.a.email, PASSWORD) == 303


def test_the_login_throttle_counts_clients_and_accounts_apart() -> None:
    from rapportd.agent.web.throttle import LoginThrottle

    clock = [0.0]
    t = LoginThrottle(clock=lambda: clock[0], limits={"pair": 3, "client": 5, "email": 7})
    for _ in range(3):
        t.failed("10.0.0.1", "ana@x.example")
    assert t.retry_after("10.0.0.1", "ana@x.example") == 15 * 60
    assert t.retry_after("10.0.0.2", "ana@x.example") == 0  # a victim is not locked out
    t.succeeded("10.0.0.1", "ana@x.example")  # a success clears the pair only
    assert t.retry_after("10.0.0.1", "ana@x.example") == 0
    for i in range(2):  # five failures from one client, over several accounts
        t.failed("10.0.0.1", f"other{i}@x.example")
    assert t.retry_after("10.0.0.1", "new@x.example") > 0
    for i in range(2, 9):  # many clients, one account
        clock[0] += 10
        t.failed(f"10.0.1.{i}", "bo@x.example")
    assert t.retry_after("10.9.9.9", "bo@x.example") > 0
    clock[0] += 15 * 60
    assert t.retry_after("10.9.9.9", "bo@x.example") == 0
    assert t.retry_after("10.0.0.1", "new@x.example") == 0


def test_static_files_are_fingerprinted_and_kept(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    """The page names its CSS and scripts with a fingerprint of their content, and those URLs
    may be kept for good: a new tab draws without asking for them again."""
    import re

    client, _ = client_a
    page = client.get("/suggestions").text
    urls = re.findall(r'(?:href|src)="(/static/[^"]+\?v=[0-9a-f]{12})"', page)
    assert {u.split("?")[0] for u in urls} >= {
        "/static/app.css",
        "/static/htmx.min.js",
        "/static/triage.js",
    }
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200 and "immutable" in r.headers["cache-control"], url
    assert "immutable" not in client.get("/static/app.css").headers.get("cache-control", "")


def test_cli_and_page_show_the_same_numbers(world: World, client_a: tuple[TestClient, str]) -> None:
    """`rapportd contacts` and the contacts page read one query layer: the same open
    promises (a late one counts on both), the same order; `rapportd suggestions list` shows
    the page's Waiting tab."""
    from rapportd.agent.cli.contacts_view import contact_rows as cli_rows
    from rapportd.agent.store.models import Commitment
    from rapportd.agent.store.review import suggestions_in_view
    from rapportd.agent.web.contacts import contact_rows as page_rows

    client, _ = client_a
    with world.sessions() as db, db.begin():  # one promise is late: still open on both
        late = db.scalars(
            select(Commitment).where(
                Commitment.owner_id == world.a.owner_id, Commitment.kind == "commitment"
            )
        ).first()
        assert late is not None
        late.state = "late"
    now = datetime.now(UTC)
    with world.sessions() as db:
        cli = cli_rows(db, world.a.email, sort="overdue", limit=100, now=now)
        page = page_rows(db, world.a.owner_id, sort="overdue", descending=True, now=now, tz="UTC")
        waiting = suggestions_in_view(db, world.a.owner_id, "inbox", now=now)
    assert [r["id"] for r in cli] == [r.id for r in page]
    by_id = {r.id: r for r in page}
    for r in cli:
        assert (r["promised_by_you"], r["promised_to_you"]) == (
            by_id[r["id"]].promised_by_you,
            by_id[r["id"]].promised_to_you,
        )
    assert any(r["promised_by_you"] for r in cli)
    html = client.get("/suggestions").text
    assert {f'id="s-{s.id}"' for s in waiting} == set(re.findall(r'id="s-\d+"', html))


def test_a_reply_owed_offers_to_keep_its_acknowledgement_as_a_promise(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    from rapportd.agent.store.db import transaction
    from rapportd.agent.store.models import Commitment

    client, token = client_a
    reply_by = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    with transaction(world.sessions) as db:
        row = db.scalars(
            select(Suggestion).where(
                Suggestion.owner_id == world.a.owner_id, Suggestion.kind == "reply_needed"
            )
        ).one()
        ask = Commitment(
            owner_id=world.a.owner_id,
            dedupe_key="ask-ben",
            contact_id=row.contact_id,
            kind="request",
            direction="to_owner",
            by_addr=row.to_addrs[0][0],
            to_addr=world.a.email,
            text="Could we have lunch on Thursday?",
            thread_id="lunch",
        )
        db.add(ask)
        db.flush()
        row.commitment_id = ask.id
        row.reasons = {**row.reasons, "reply_by_at": reply_by.isoformat()}
        sid = row.id
    page = client.get("/suggestions")
    assert f'action="/suggestions/{sid}/promise"' in page.text
    assert "Hold time to answer by" in page.text
    assert client.post(f"/suggestions/{sid}/promise", data={}).status_code == 403  # no token
    r = client.post(
        f"/suggestions/{sid}/promise", data={"csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert r.status_code == 200 and "You promised an answer by" in r.text
    assert f'action="/suggestions/{sid}/promise"' not in r.text  # offered once
    with world.sessions() as db:
        made = db.scalars(
            select(Commitment).where(
                Commitment.owner_id == world.a.owner_id, Commitment.direction == "by_owner"
            )
        ).all()
        mine = [c for c in made if c.dedupe_key == "acknowledged:ask-ben"]
        assert len(mine) == 1 and mine[0].due_at == reply_by
    # another owner cannot reach it
    with TestClient(world.app, base_url="http://127.0.0.1") as other:
        from .conftest import sign_in

        other_token = sign_in(other, world.b.email)
        assert (
            other.post(f"/suggestions/{sid}/promise", data={"csrf_token": other_token}).status_code
            == 404
        )
