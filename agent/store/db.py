"""Engines, sessions and the schema check, for SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import ConfigError, SchemaError
from rapportd.agent.core.files import private_dir

if TYPE_CHECKING:
    from rapportd.agent.core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(SchemaError):
    """The database's schema is older (or newer) than this code expects."""


class StoreMissing(ConfigError):
    """The settings name a SQLite file that does not exist (nothing is created for it)."""


class StoreUnreachable(ConfigError):
    """The database server does not answer; the message names the setting."""


def private_store_file(path: Path) -> None:
    """The SQLite store, its -wal and -shm: created 0600 and kept so (they hold mail text
    and drafts). SQLite gives -wal/-shm the mode of the database file."""
    path = path.expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            continue
        except PermissionError:  # not ours to change (a store opened read-only elsewhere)
            continue


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings rapportd relies on.

    SQLite: WAL journal, foreign keys on, a busy timeout so that worker threads wait for
    each other instead of failing, and the parent folder created. PostgreSQL: psycopg 3,
    pre-ping so a restarted server does not break a long-running daemon.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            private_dir(Path(database).expanduser().parent)
            private_store_file(Path(database))
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(parsed, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE: take the write lock up front, so two writers queue on the
            # busy timeout instead of one failing with "database is locked" on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None, "no migrations shipped"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDate` unless the database is at this code's head revision."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaOutOfDate(
            f"the database at {where} has no rapportd schema; run `rapportd db upgrade`"
        )
    script = ScriptDirectory(str(MIGRATIONS))
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaOutOfDate(
            f"the database at {where} is at revision {current}, newer than this rapportd "
            f"(head {head}); upgrade rapportd"
        )
    raise SchemaOutOfDate(
        f"the database at {where} is at revision {current}, this rapportd needs {head}; "
        "run `rapportd db upgrade`"
    )


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser()


def database_setting(settings: Settings) -> str:
    """Which setting decides the database, as the one-line errors name it."""
    if settings.database_url:
        return "database_url (RAPPORTD_DATABASE_URL)"
    return "data_dir (RAPPORTD_DATA_DIR)"


def unreachable(settings: Settings, exc: BaseException) -> StoreUnreachable:
    """One line for a database that does not answer: the setting, the address, the reason."""
    where = make_url(settings.effective_database_url).render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = reason[0] if reason else type(exc).__name__
    return StoreUnreachable(
        f"setting {database_setting(settings)}: cannot reach the database at {where}: {first}"
    )


def open_store(settings: Settings, *, check: bool = True) -> Engine:
    """The engine of an existing store, for every command but ``rapportd db upgrade``.

    A SQLite file that does not exist is an error naming the setting (nothing is created:
    a read-only command leaves no file or folder behind); a server that does not answer is
    one line naming the setting; with ``check`` the schema must be at this code's head.
    """
    url = settings.effective_database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise StoreMissing(
            f"setting {database_setting(settings)}: no rapportd store at {path}; "
            "run `rapportd db upgrade` to create one (for the demo's store, source the "
            "demo.env file that `rapportd demo` prints)"
        )
    engine = make_engine(url)
    if check:
        try:
            check_schema(engine)
        except (OperationalError, InterfaceError) as exc:
            engine.dispose()
            raise unreachable(settings, exc) from None
    return engine
