"""The ``rapportd`` command as a user runs it: a real subprocess of the installed script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RAPPORTD = shutil.which("rapportd", path=str(Path(sys.executable).parent)) or "rapportd"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    full_env["COLUMNS"] = "200"
    full_env.update(env or {})
    return subprocess.run(
        [RAPPORTD, *args], capture_output=True, text=True, env=full_env, timeout=120
    )


def test_help_and_version(isolated_settings: Path) -> None:
    result = run("--help", env={"RAPPORTD_DATA_DIR": str(isolated_settings)})
    assert result.returncode == 0
    for command in ("version", "db", "config", "keys"):
        assert command in result.stdout
    version = run("version", env={"RAPPORTD_DATA_DIR": str(isolated_settings)})
    assert version.returncode == 0 and version.stdout.startswith("rapportd ")


def test_bad_setting_stops_with_one_line(isolated_settings: Path) -> None:
    result = run("config", "show", env={"RAPPORTD_BROKER": "kafka://nope"})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "RAPPORTD_BROKER" in lines[0] and "Traceback" not in result.stderr


def test_config_show_masks_secrets(isolated_settings: Path) -> None:
    result = run(
        "config",
        "show",
        "--json",
        env={
            "RAPPORTD_ENCRYPTION_KEY": "topsecretkeyvalue",
            "RAPPORTD_GOOGLE__CLIENT_SECRET": "gsec42",
            "RAPPORTD_DATA_DIR": str(isolated_settings),
        },
    )
    assert result.returncode == 0, result.stderr
    assert "topsecretkeyvalue" not in result.stdout and "gsec42" not in result.stdout
    assert '"encryption_key": "********"' in result.stdout


def test_db_upgrade_twice_is_a_no_op(tmp_path: Path) -> None:
    env = {"RAPPORTD_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    first = run("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert "upgraded empty ->" in first.stdout
    second = run("db", "upgrade", env=env)
    assert second.returncode == 0 and "already at revision" in second.stdout
    current = run("db", "current", env=env)
    assert "up to date" in current.stdout


@pytest.mark.postgres
def test_db_upgrade_on_postgresql(postgres_url: str) -> None:
    env = {"RAPPORTD_DATABASE_URL": postgres_url}
    assert run("db", "upgrade", env=env).returncode == 0
    second = run("db", "upgrade", env=env)
    assert second.returncode == 0 and "already at revision" in second.stdout


def test_keys_generate_and_rotate(tmp_path: Path) -> None:
    key = run("keys", "generate").stdout.strip()
    assert len(key) == 44
    env = {
        "RAPPORTD_DATABASE_URL": f"sqlite:///{tmp_path / 'k.sqlite3'}",
        "RAPPORTD_ENCRYPTION_KEY": key,
    }
    assert run("db", "upgrade", env=env).returncode == 0
    result = run("keys", "rotate", env=env)
    assert result.returncode == 0 and "re-encrypted 0" in result.stdout
    assert key not in result.stdout + result.stderr


def test_old_schema_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    env = {"RAPPORTD_DATABASE_URL": f"sqlite:///{tmp_path / 'old.sqlite3'}"}
    result = run("keys", "rotate", env=env)
    assert result.returncode == 2
    assert "run `rapportd db upgrade`" in result.stderr
    assert not (tmp_path / "old.sqlite3").exists()  # nothing created for a missing store


def test_read_only_commands_create_nothing_and_say_which_setting(tmp_path: Path) -> None:
    """On a machine with no store, every reading command is one line naming the setting, and
    leaves no file or folder behind."""
    data = tmp_path / "data"
    env = {"RAPPORTD_DATA_DIR": str(data)}
    for args in (
        ("contacts",),
        ("suggestions", "list"),
        ("accounts", "list"),
        ("db", "current"),
    ):
        result = run(*args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "setting data_dir (RAPPORTD_DATA_DIR)" in lines[0], args
        assert "run `rapportd db upgrade`" in lines[0]
        assert not data.exists(), args


def test_unreachable_database_and_broker_are_one_line(tmp_path: Path) -> None:
    pg = {"RAPPORTD_DATABASE_URL": "postgresql+psycopg://rapportd:pw@127.0.0.1:1/rapportd"}
    for args in (("contacts",), ("db", "upgrade")):
        result = run(*args, env=pg)
        assert result.returncode == 2, (args, result.stderr)
        (line,) = result.stderr.strip().splitlines()
        assert "setting database_url (RAPPORTD_DATABASE_URL): cannot reach" in line, line
        assert "pw@" not in line
    env = {
        "RAPPORTD_DATABASE_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}",
        "RAPPORTD_BROKER": "redis://127.0.0.1:1/0",
    }
    assert run("db", "upgrade", env=env).returncode == 0
    result = run("worker", env=env)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("rapportd: setting broker (RAPPORTD_BROKER): cannot reach the broker")


def test_identity_and_people_commands_show_reasons_and_record_decisions(tmp_path: Path) -> None:
    """`rapportd identity` / `people` show what was inferred and store the owner's undo."""
    from sqlalchemy import select

    from rapportd.agent.store.db import make_engine, session_factory, transaction, upgrade
    from rapportd.agent.store.models import Contact, ContactDecision, ContactIdentity, Owner

    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    env = {"RAPPORTD_DATABASE_URL": url, "RAPPORTD_DATA_DIR": str(tmp_path)}
    engine = make_engine(url)
    upgrade(engine)
    with transaction(session_factory(engine)) as s:
        o = Owner(
            email="me@corp.test",
            identity={
                "addresses": ["me@corp.test", "m.e@corp.test"],
                "reasons": {"me@corp.test": ["your account"], "m.e@corp.test": ["looks like you"]},
                "name": "Me Myself",
                "sign_off": "Me",
            },
        )
        s.add(o)
        s.flush()
        c = Contact(owner_id=o.id, display_name="Ann Lee", analysis={"addresses": ["ann@x.test"]})
        s.add(c)
        s.flush()
        s.add(ContactIdentity(owner_id=o.id, contact_id=c.id, address="ann@x.test"))
    shown = run("identity", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "m.e@corp.test" in shown.stdout and "looks like you" in shown.stdout
    assert run("identity", "not-me", "m.e@corp.test", env=env).returncode == 0
    assert run("people", "split", "ann@x.test", "ann@y.test", env=env).returncode == 0
    bad = run("people", "merge", "ann@x.test", "ann@x.test", env=env)
    assert bad.returncode != 0 and "two different" in bad.stderr
    person = run("people", "show", "ann@x.test", env=env)
    assert "Ann Lee" in person.stdout
    with session_factory(engine)() as s:
        rows = {(d.address_a, d.address_b, d.decision) for d in s.scalars(select(ContactDecision))}
        owner = s.scalars(select(Owner)).one()
    assert rows == {("m.e@corp.test", "", "not_me"), ("ann@x.test", "ann@y.test", "split")}
    assert owner.analysis_due_at is not None
