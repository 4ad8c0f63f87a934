"""The migrations run up and down on SQLite and PostgreSQL, and the constraints hold."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError

from rapportd.agent.store.db import (
    SchemaOutOfDate,
    check_schema,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    session_factory,
    transaction,
    upgrade,
)
from rapportd.agent.store.models import (
    OWNED_TABLES,
    Account,
    Base,
    Contact,
    ContactIdentity,
    Message,
    Owner,
    Suggestion,
)


def _owner_with_account(engine: Engine) -> tuple[int, int]:
    with transaction(session_factory(engine)) as s:
        owner = Owner(email="ana@example.com")
        s.add(owner)
        s.flush()
        account = Account(owner_id=owner.id, provider="google", address="ana@example.com")
        s.add(account)
        s.flush()
        return owner.id, account.id


def test_migrations_create_every_model_table(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    check_schema(engine)


def test_up_down_up_and_idempotent_upgrade(engine: Engine) -> None:
    upgrade(engine)  # a second upgrade is a no-op
    assert current_revision(engine) == head_revision()
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_the_schema_matches_the_models(engine: Engine) -> None:
    """No model change without a migration: autogenerate finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_every_row_belongs_to_an_owner() -> None:
    for name, table in Base.metadata.tables.items():
        if name in {"owners", "quota_windows", "process_heartbeats"}:
            continue
        assert "owner_id" in table.c, name
        assert not table.c.owner_id.nullable, name
    assert "messages" in OWNED_TABLES


def test_repeated_message_is_refused_by_the_unique_constraint(engine: Engine) -> None:
    owner_id, account_id = _owner_with_account(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        s.add(Message(owner_id=owner_id, account_id=account_id, provider_id="m1"))
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.add(Message(owner_id=owner_id, account_id=account_id, provider_id="m1"))
    with factory() as s:
        assert s.scalar(select(Message.id).where(Message.provider_id == "m1")) is not None


def test_dedupe_keys_and_identities_are_unique_per_owner(engine: Engine) -> None:
    owner_id, _ = _owner_with_account(engine)
    factory = session_factory(engine)
    with transaction(factory) as s:
        other = Owner(email="bo@example.com")
        s.add(other)
        s.flush()
        for oid in (owner_id, other.id):  # the same key for two owners is fine
            s.add(Suggestion(owner_id=oid, dedupe_key="thank_you:evt1", kind="thank_you"))
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.add(Suggestion(owner_id=owner_id, dedupe_key="thank_you:evt1", kind="thank_you"))
    with transaction(factory) as s:
        contact = Contact(owner_id=owner_id, display_name="Zoë")
        s.add(contact)
        s.flush()
        s.add(ContactIdentity(owner_id=owner_id, contact_id=contact.id, address="zoe@x.org"))
    with pytest.raises(IntegrityError), transaction(factory) as s:
        contact = s.scalars(select(Contact)).one()
        s.add(ContactIdentity(owner_id=owner_id, contact_id=contact.id, address="zoe@x.org"))


def test_foreign_keys_are_enforced_and_cascade(engine: Engine) -> None:
    owner_id, account_id = _owner_with_account(engine)
    factory = session_factory(engine)
    with pytest.raises(IntegrityError), transaction(factory) as s:
        s.add(Message(owner_id=owner_id, account_id=account_id + 999, provider_id="x"))
    with transaction(factory) as s:
        s.add(Message(owner_id=owner_id, account_id=account_id, provider_id="y"))
    with transaction(factory) as s:
        s.execute(text("DELETE FROM owners WHERE id = :id"), {"id": owner_id})
    with factory() as s:
        assert s.scalars(select(Message)).all() == []
        assert s.scalars(select(Account)).all() == []


def test_times_come_back_aware_utc(engine: Engine) -> None:
    owner_id, account_id = _owner_with_account(engine)
    paris = timezone(timedelta(hours=1))
    sent = datetime(2026, 3, 1, 9, 30, tzinfo=paris)
    factory = session_factory(engine)
    with transaction(factory) as s:
        s.add(Message(owner_id=owner_id, account_id=account_id, provider_id="t", sent_at=sent))
    with factory() as s:
        stored = s.scalars(select(Message.sent_at)).one()
    assert stored == sent and stored is not None and stored.tzinfo == UTC
    with pytest.raises(Exception, match="naive datetime"), transaction(factory) as s:
        s.add(
            Message(
                owner_id=owner_id,
                account_id=account_id,
                provider_id="n",
                sent_at=datetime(2026, 1, 1),
            )
        )


def test_check_schema_names_the_command(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with pytest.raises(SchemaOutOfDate, match="rapportd db upgrade"):
        check_schema(engine)


def test_sqlite_runs_in_wal_with_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_the_store_and_its_folder_are_private(tmp_path: Path) -> None:
    """The store holds mail text and drafts: the data folder is created 0700, the SQLite
    file, its -wal and -shm 0600, whatever the umask allows (issue 16); a store left
    readable by an older version is tightened when opened."""
    from rapportd.agent.core.settings import load_settings
    from rapportd.agent.core.vault import vault_from_settings

    old = os.umask(0o022)
    try:
        data = tmp_path / "home" / "rapportd"
        settings = load_settings(data_dir=data)
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        with transaction(session_factory(engine)) as session:
            session.add(Owner(email="a@x.example"))
        vault_from_settings(settings)  # the local key file lands in the same folder
        store = data / "rapportd.sqlite3"
        modes = {
            p.name: stat.S_IMODE(p.stat().st_mode)
            for p in (data, store, Path(f"{store}-wal"), Path(f"{store}-shm"))
        }
        assert modes == {
            "rapportd": 0o700,
            "rapportd.sqlite3": 0o600,
            "rapportd.sqlite3-wal": 0o600,
            "rapportd.sqlite3-shm": 0o600,
        }
        assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
        engine.dispose()
        os.chmod(store, 0o644)
        make_engine(settings.effective_database_url).dispose()
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
    finally:
        os.umask(old)
