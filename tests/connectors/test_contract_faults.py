"""Faults: revoked grants stop an account; any schedule of transient faults leaves the
same store as a fault-free run (hypothesis over random schedules, small mailboxes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapportd.agent.core.errors import ReconsentNeeded, RetryLater
from rapportd.agent.core.vault import vault_from_settings
from rapportd.agent.store.db import make_engine, transaction, upgrade
from rapportd.agent.store.models import Account
from rapportd.connectors.google import GoogleConnector
from rapportd.connectors.microsoft import MicrosoftConnector
from rapportd.connectors.ratelimit import MemoryLimiter
from rapportd.connectors.sandbox.faults import Fault
from rapportd.connectors.sync.account import sync_account
from rapportd.connectors.tokens import google_credentials, load_blob

from .conftest import World, make_world
from .snapshots import fresh_snapshot, snapshot
from .test_contract_sync import mutate


def test_revoked_grant_marks_needs_reconsent_and_stops(world: World) -> None:
    sync_account(world.sessions, world.account_id, world.settings)
    world.sandbox.tokens.revoke_account(world.address)
    with pytest.raises(ReconsentNeeded):
        sync_account(world.sessions, world.account_id, world.settings)
    with world.sessions() as s:
        account = s.get(Account, world.account_id)
        assert account is not None
        assert account.status == "needs_reconsent" and "connect" in account.status_reason
        assert account.next_sync_at is None
    calls = len(world.sandbox.log)
    assert sync_account(world.sessions, world.account_id, world.settings).outcome == "skipped"
    assert len(world.sandbox.log) == calls  # no loop, not even one request


def quiet_connector(world: World) -> Any:
    """A connector that never sleeps (faults carry Retry-After: 0)."""
    with transaction(world.sessions) as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        data = load_blob(vault_from_settings(world.settings), account.token_blob)
    limiter = MemoryLimiter(sleep=lambda s: None)
    if world.provider == "google":
        return GoogleConnector(
            world.settings,
            google_credentials(world.settings, data),
            world.address,
            limiter=limiter,
            sleep=lambda s: None,
        )
    return MicrosoftConnector(
        world.settings, data, world.address, limiter=limiter, sleep=lambda s: None
    )


KINDS = ["429", "403_user_rate", "500", "503", "drop", "stale_history", "expired_sync_token"]
ENDPOINTS = {
    "google": [
        "*",
        "gmail.users.messages.get",
        "gmail.users.messages.list",
        "gmail.users.history.list",
        "calendar.events.list",
        "batch",
    ],
    "microsoft": ["*", "graph.*"],
}


def schedules(provider: str) -> Any:
    fault = st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(ENDPOINTS[provider]),
        st.integers(min_value=1, max_value=3),
        st.booleans(),
    )
    return st.lists(fault, min_size=1, max_size=4)


def run_until_done(world: World, connector: Any, attempts: int = 6) -> None:
    for _ in range(attempts):
        try:
            sync_account(world.sessions, world.account_id, world.settings, connector=connector)
            return
        except RetryLater:
            continue
    raise AssertionError("sync did not converge after the faults stopped")


def check_schedule(provider: str, plan: list[tuple[str, str, int, bool]], tmp: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp / 'faults.sqlite3'}")
    upgrade(engine)
    try:
        for world in make_world(provider, engine, messages=25, events=6):
            connector = quiet_connector(world)
            for kind, endpoint, count, before in plan:
                if before:
                    world.sandbox.faults.add(
                        Fault(kind, endpoint=endpoint, count=count, retry_after=0)
                    )
            run_until_done(world, connector)
            mutate(world)
            for kind, endpoint, count, before in plan:
                if not before:
                    world.sandbox.faults.add(
                        Fault(kind, endpoint=endpoint, count=count, retry_after=0)
                    )
            run_until_done(world, connector)
            mine = snapshot(world.sessions, world.account_id)
            connector.close()
            assert mine == fresh_snapshot(world, tmp)
    finally:
        engine.dispose()


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_fault_schedules_converge(provider: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    @settings(
        max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
    )
    @given(plan=schedules(provider))
    def run(plan: list[tuple[str, str, int, bool]]) -> None:
        check_schedule(provider, plan, tmp_path_factory.mktemp("f"))

    run()
