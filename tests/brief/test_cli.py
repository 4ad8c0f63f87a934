"""`rapportd brief` and `rapportd prep-holds` in-process against a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from suggest.builders import Store
from typer.testing import CliRunner

from rapportd.agent.core.settings import get_settings
from rapportd.agent.store.db import session_factory, transaction
from rapportd.agent.store.models import Owner

H = timedelta(hours=1)


@pytest.fixture
def factory(sqlite_engine: Engine) -> sessionmaker[Session]:
    return session_factory(sqlite_engine)


@pytest.fixture
def cli(
    sqlite_url: str, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> tuple[CliRunner, int]:
    monkeypatch.setenv("RAPPORTD_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    now = datetime.now(UTC)
    with transaction(factory) as s:
        st = Store(s)
        st.contact("jane@client.test", "Doe, Jane", last=now - 48 * H)
        msg = st.message(
            now - 48 * H,
            sender=st.owner.email,
            to=["jane@client.test"],
            text="Hi Jane,\n\nI'll send you the revised quote by Friday.",
        )
        st.commitment(msg, text="I'll send you the revised quote by Friday.")
        ev = st.event(now + 3 * H, attendees=["jane@client.test"], summary="Quote review")
        event_id = ev.id
    return CliRunner(), event_id


def invoke(cli: CliRunner, *args: str) -> tuple[int, str]:
    from rapportd.agent.cli.main import app

    result = cli.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.output


def test_brief_terminal_and_json(cli: tuple[CliRunner, int]) -> None:
    runner, event_id = cli
    code, out = invoke(runner, "brief")
    assert code == 0, out
    assert "Quote review" in out and "Jane Doe · client.test" in out
    assert "You promised them" in out and "revised quote" in out and "[open]" in out
    code, out = invoke(runner, "brief", "--meeting", str(event_id), "--json")
    assert code == 0, out
    [brief] = json.loads(out)
    assert brief["meeting_id"] == event_id
    assert brief["owner_promised"][0]["evidence"]["sentence"] == (
        "I'll send you the revised quote by Friday."
    )
    code, out = invoke(runner, "brief", "--date", "1999-01-01")
    assert code == 0 and "No meeting" in out
    code, out = invoke(runner, "brief", "--date", "tomorrow")
    assert code != 0 and "is not a date" in out


def test_prep_holds_setting(cli: tuple[CliRunner, int], factory: sessionmaker[Session]) -> None:
    runner, _ = cli
    code, out = invoke(runner, "prep-holds")
    assert code == 0 and out.startswith("prep holds off: 15 minutes")
    code, out = invoke(runner, "prep-holds", "--on", "--minutes", "20", "--kind", "one_off")
    assert code == 0 and "prep holds on: 20 minutes" in out and "(one_off)" in out
    with factory() as s:
        owner = s.query(Owner).one()
        assert owner.preferences["prep_holds"]["enabled"] is True
    code, out = invoke(runner, "prep-holds", "--minutes", "1")
    assert code != 0
    with factory() as s:
        assert s.query(Owner).one().preferences["prep_holds"]["minutes"] == 20  # nothing lost
