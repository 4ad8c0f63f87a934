"""``rapportd owners add EMAIL``: creates a local owner whose password signs in."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from rapportd.agent.cli.main import app as cli
from rapportd.agent.core.settings import get_settings, load_settings
from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.web.app import create_app

from .conftest import sign_in


def test_owners_add_then_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("RAPPORTD_DATABASE_URL", url)
    get_settings.cache_clear()
    engine = make_engine(url)
    upgrade(engine)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["owners", "add", "Dana@Example.com", "--name", "Dana"],
        input="s3cret-pass\ns3cret-pass\n",
    )
    assert result.exit_code == 0, result.output
    assert "created owner" in result.output
    short = runner.invoke(cli, ["owners", "add", "eve@example.com"], input="short\nshort\n")
    assert short.exit_code != 0
    listing = runner.invoke(cli, ["owners", "list"])
    assert "dana@example.com" in listing.output and "eve@example.com" not in listing.output
    app = create_app(load_settings(), session_factory(engine))
    with TestClient(app) as client:
        sign_in(client, "dana@example.com", "s3cret-pass")
        assert client.get("/api/me").json()["display_name"] == "Dana"
    engine.dispose()
