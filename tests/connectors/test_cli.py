"""`rapportd accounts connect` (pasted redirect URL), `accounts list` and `sync --account`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner

from rapportd.agent.cli.main import app
from rapportd.agent.core.settings import get_settings
from rapportd.agent.store.db import make_engine, upgrade
from rapportd.connectors import oauth
from rapportd.connectors.sandbox.server import running_sandbox
from rapportd.connectors.sandbox.state import Sandbox

from .world import OWNER, fill_mailbox


def test_connect_list_and_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sb = Sandbox()
    sb.add_account("google", OWNER)
    fill_mailbox(sb, OWNER, 15)
    db = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    upgrade(make_engine(db))
    with running_sandbox(sb) as h:
        env = {
            "RAPPORTD_DATABASE_URL": db,
            "RAPPORTD_GOOGLE__CLIENT_ID": "rapportd-sandbox",
            "RAPPORTD_GOOGLE__CLIENT_SECRET": "sandbox-secret",
            "RAPPORTD_GOOGLE__API_ROOT": h.base_url + "/",
            "RAPPORTD_GOOGLE__GMAIL_ROOT": h.base_url + "/",
            "RAPPORTD_GOOGLE__AUTH_URI": h.base_url + "/o/oauth2/auth",
            "RAPPORTD_GOOGLE__TOKEN_URI": h.base_url + "/token",
        }
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        get_settings.cache_clear()
        runner = CliRunner()
        seen: list[str] = []
        real = oauth.google_authorization_url

        def capture(*args: object, **kwargs: object) -> str:
            seen.append(real(*args, **kwargs))  # type: ignore[arg-type]
            return seen[-1]

        def browser(_text: str) -> str:  # the person consents; the sandbox redirects at once
            return str(httpx.get(seen[-1]).headers["location"])

        monkeypatch.setattr(oauth, "google_authorization_url", capture)
        monkeypatch.setattr(typer, "prompt", browser)
        result = runner.invoke(
            app,
            ["accounts", "connect", "google", "--owner", "me@example.com", "--login-hint", OWNER],
        )
        assert "connected google account owner@example.com" in result.output, result.output
        assert seen and "code_challenge=" in seen[0] and "access_type=offline" in seen[0]
        listed = runner.invoke(app, ["accounts", "list"])
        assert OWNER in listed.output and "ok" in listed.output
        assert "waiting for Gmail to finish" in listed.output  # never synced yet
        synced = runner.invoke(app, ["sync", "--account", OWNER])
        assert synced.exit_code == 0, synced.output
        assert "gmail" in synced.output and "15" in synced.output
        assert "waiting for" not in runner.invoke(app, ["accounts", "list"]).output
