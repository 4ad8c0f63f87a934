"""Alembic environment: runs on the engine rapportd hands it (see store/db.py)."""

from __future__ import annotations

from alembic import context

from rapportd.agent.store.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # pragma: no cover - only when alembic is called by hand
    from rapportd.agent.core.settings import get_settings
    from rapportd.agent.store.db import make_engine

    engine = make_engine(get_settings().effective_database_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
