from __future__ import annotations

from pathlib import Path

import pytest

from rapportd.agent.core.settings import (
    Settings,
    SettingsError,
    load_settings,
    masked,
    parse_hours_range,
)

REPO = Path(__file__).resolve().parents[2]


def test_defaults_use_a_sqlite_file_in_the_data_dir(isolated_settings: Path) -> None:
    settings = load_settings()
    assert settings.broker == "embedded"
    assert settings.effective_database_url == f"sqlite:///{isolated_settings / 'rapportd.sqlite3'}"


def test_shipped_toml_documents_exactly_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORTD_CONFIG", str(REPO / "config" / "rapportd.toml"))
    from_file = load_settings()
    monkeypatch.delenv("RAPPORTD_CONFIG")
    defaults = load_settings()
    assert from_file.model_dump() == defaults.model_dump()


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text('broker = "redis://filehost:6379/0"\n[sync]\nbackfill_days = 30\n')
    monkeypatch.setenv("RAPPORTD_CONFIG", str(cfg))
    monkeypatch.setenv("RAPPORTD_BROKER", "amqp://guest:guest@envhost:5672/")
    settings = load_settings()
    assert settings.broker.startswith("amqp://")
    assert settings.sync.backfill_days == 30


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORTD_GOOGLE__CLIENT_ID", "abc.apps")
    monkeypatch.setenv("RAPPORTD_SUGGESTIONS__HOLD_MINUTES", "90")
    settings = load_settings()
    assert settings.google.client_id == "abc.apps"
    assert settings.suggestions.hold_minutes == 90


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        ("RAPPORTD_BROKER", "kafka://x", "setting broker (RAPPORTD_BROKER): must be"),
        ("RAPPORTD_DATABASE_URL", "mysql://x", "setting database_url (RAPPORTD_DATABASE_URL)"),
        ("RAPPORTD_WEB_PORT", "70000", "setting web_port (RAPPORTD_WEB_PORT)"),
        ("RAPPORTD_DEFAULT_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
        ("RAPPORTD_SUGGESTIONS__KINDS", '["thank_you", "spam"]', "unknown kind(s) ['spam']"),
        ("RAPPORTD_SUGGESTIONS__QUIET_HOURS", "late", "setting suggestions.quiet_hours"),
        ("RAPPORTD_OWNER_DOMAINS", '["not a domain"]', "setting owner_domains"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_unknown_key_in_the_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text("brokr = 'embedded'\n")
    monkeypatch.setenv("RAPPORTD_CONFIG", str(cfg))
    with pytest.raises(SettingsError, match=r"setting brokr .*unknown setting"):
        load_settings()


def test_broken_toml_and_missing_file_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text("broker = \n")
    monkeypatch.setenv("RAPPORTD_CONFIG", str(cfg))
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings()
    monkeypatch.setenv("RAPPORTD_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings()


def test_masked_hides_secrets_and_url_passwords() -> None:
    settings = Settings(
        encryption_key="k" * 44,
        database_url="postgresql+psycopg://me:hunter2@db/rapportd",
        broker="amqp://guest:s3cret@mq:5672/",
        google={"client_secret": "gsecret"},
    )
    data = masked(settings)
    text = repr(data)
    for secret in ("k" * 44, "hunter2", "s3cret", "gsecret"):
        assert secret not in text
    assert data["encryption_key"] == "********"
    assert data["google"]["client_secret"] == "********"
    assert data["llm"]["api_key"] == ""
    assert "me:********@db" in data["database_url"]


def test_hours_range() -> None:
    assert parse_hours_range("09:00-17:30") == (540, 1050)
    assert parse_hours_range("21:00-07:00") == (1260, 420)
    for bad in ("9-5", "25:00-07:00", "09:60-10:00", ""):
        with pytest.raises(ValueError):
            parse_hours_range(bad)
