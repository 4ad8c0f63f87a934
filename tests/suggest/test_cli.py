"""`rapportd suggestions ...` in-process (typer's CliRunner) against a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from rapportd.agent.cli.suggestions import parse_until
from rapportd.agent.core.settings import get_settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import OutboxOperation, Suggestion
from rapportd.agent.suggest.planner import plan_owner

from .builders import Store

D = timedelta(days=1)


@pytest.fixture
def cli(
    sqlite_url: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    monkeypatch.setenv("RAPPORTD_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    now = datetime.now(UTC)
    with transaction(factory) as s:
        st = Store(s)
        for i, who in enumerate(["max@client.test", "zoe@client.test"]):
            q = st.message(
                now - 8 * D,
                sender=who,
                to=[st.owner.email],
                subject=f"Question {i}",
                thread=f"t{i}",
            )
            st.commitment(
                q, kind="request", direction="to_owner", text=f"Could you check item {i}?"
            )
        plan_owner(s, st.owner_id, now=now, settings=get_settings())
    return CliRunner()


def invoke(cli: CliRunner, *args: str) -> tuple[int, str]:
    from rapportd.agent.cli.main import app

    result = cli.invoke(app, ["suggestions", *args], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def ids(factory: sessionmaker[Session]) -> list[int]:
    with factory() as s:
        return list(s.scalars(select(Suggestion.id).order_by(Suggestion.id)))


def test_list_show_and_actions(cli: CliRunner, factory: sessionmaker[Session]) -> None:
    code, out = invoke(cli, "list", "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert {x["kind"] for x in listed} == {"reply_needed"} and len(listed) == 2
    first, second = ids(factory)
    code, out = invoke(cli, "show", str(first))
    assert code == 0 and "Could you check item" in out and "Re: Question" in out
    code, out = invoke(cli, "snooze", str(first), "--until", "2d")
    assert code == 0 and "snoozed" in out
    code, out = invoke(cli, "edit", str(first), "--body", "Hello Max, done.", "--subject", "Re: Q")
    assert code == 0, out
    code, out = invoke(cli, "accept", str(first))
    assert code == 0 and "accepted" in out
    code, out = invoke(cli, "dismiss", str(second))
    assert code == 0 and "dismissed" in out
    with factory() as s:
        a = s.get(Suggestion, first)
        assert a is not None and a.body.startswith("Hello Max, done.") and a.subject == "Re: Q"
        op = s.scalars(select(OutboxOperation).where(OutboxOperation.suggestion_id == first)).one()
        assert op.payload["body"].startswith("Hello Max, done.")
        b_op = s.scalars(
            select(OutboxOperation).where(OutboxOperation.suggestion_id == second)
        ).one()
        assert b_op.state == "dismissed"
    # the review page's tabs: accepted and dismissed ones are done, not waiting
    code, out = invoke(cli, "list", "--json")
    assert json.loads(out) == []
    code, out = invoke(cli, "list", "--view", "done", "--json")
    assert sorted(x["id"] for x in json.loads(out)) == [first, second]
    code, out = invoke(cli, "list", "--view", "done")
    assert code == 0 and "Waiting 0 · Snoozed 0 · Done 2" in out
    code, out = invoke(cli, "list", "--all", "--json")
    assert len(json.loads(out)) == 2
    code, out = invoke(cli, "accept", str(second))
    assert code == 1 and "already dismissed" in out
    # undo from the terminal: the last action (the dismiss) within its window
    code, out = invoke(cli, "undo")
    assert code == 0 and f"#{second} reply_needed: back to" in out
    code, out = invoke(cli, "undo")  # the accept before it
    assert code == 0 and f"#{first}" in out
    code, out = invoke(cli, "edit", str(first), "--body", "  \n ")
    assert code == 1 and "The text is empty" in out
    code, out = invoke(cli, "dismiss", str(first), "--reason", "bored")
    assert code == 1 and "reason is one of" in out


def test_unknown_id_and_owner_selection(cli: CliRunner, factory: sessionmaker[Session]) -> None:
    code, out = invoke(cli, "show", "999")
    assert code == 1 and "no suggestion 999" in out
    code, out = invoke(cli, "list", "--owner", "nobody@x.test")
    assert code == 2
    with transaction(factory) as s:
        Store(s, email="second@acme.test")
    code, out = invoke(cli, "list")
    assert code == 2 and "--owner" in out
    code, out = invoke(cli, "list", "--owner", "second@acme.test", "--json")
    assert code == 0 and json.loads(out) == []


def test_kinds_command(cli: CliRunner) -> None:
    code, out = invoke(cli, "kinds")
    assert code == 0 and "thank_you" in out and "reconnect_hold" in out


def test_parse_until() -> None:
    now = datetime(2024, 6, 12, 10, tzinfo=UTC)
    assert parse_until("3d", now=now) == now + 3 * D
    assert parse_until("2024-06-20T09:00", "Europe/Paris") == datetime(2024, 6, 20, 7, tzinfo=UTC)


def test_promise_keeps_a_reply_owed_as_a_dated_promise(
    cli: CliRunner, factory: sessionmaker[Session]
) -> None:
    first = ids(factory)[0]
    code, out = invoke(cli, "promise", str(first))
    assert code == 0 and f"#{first}: promised an answer by" in out, out
    code, again = invoke(cli, "promise", str(first))
    assert code == 0 and again == out  # the same promise
    code, out = invoke(cli, "promise", "99999")
    assert code != 0 and "99999" in out
