"""Contract tests of the owner's addresses (Gmail send-as, Graph proxyAddresses), run
against the sandbox for both providers, and of their refresh into ``Account.aliases`` by
the sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from structlog.testing import capture_logs

from rapportd.agent.core import clock
from rapportd.agent.core.records import OwnAddress
from rapportd.agent.store.models import Account, Contact, ContactIdentity, Message, Owner
from rapportd.connectors.factory import connector_for
from rapportd.connectors.google import GoogleConnector
from rapportd.connectors.sync.account import sync_account
from rapportd.connectors.tokens import google_credentials

from .conftest import World
from .world import raw_message

ALIAS = "second@alias.example"
PENDING = "pending@alias.example"
ENDPOINT = {"google": "gmail.users.settings.sendAs.list", "microsoft": "graph.me.get"}
SOURCE = {"google": "gmail.sendAs", "microsoft": "graph.proxyAddresses"}


def give_aliases(world: World, *aliases: str) -> None:
    account = world.sandbox.account(world.address)
    account.aliases[:] = list(aliases)
    account.pending_aliases[:] = [PENDING]  # Gmail lists it as pending; Graph not at all
    account.display_name = "Owen Owner"


def calls(world: World) -> int:
    return sum(1 for e in world.sandbox.log if e.endpoint == ENDPOINT[world.provider])


def connector(world: World) -> Any:
    with world.sessions() as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        return connector_for(account, world.settings)


def stored(world: World) -> Account:
    with world.sessions() as session:
        account = session.get(Account, world.account_id)
        assert account is not None
        session.expunge(account)
        return account


def test_own_addresses_primary_and_accepted_aliases(world: World) -> None:
    give_aliases(world, ALIAS)
    conn = connector(world)
    try:
        found = conn.own_addresses()
    finally:
        conn.close()
    source = SOURCE[world.provider]
    assert found == [
        OwnAddress(world.address, source, "Owen Owner", primary=True),
        OwnAddress(ALIAS, source, "Owen Owner"),
    ]  # never the pending one (Gmail) nor the SIP: entry (Graph)
    assert calls(world) == 1


def without_address_scope(world: World, conn: Any) -> Any:
    """A connector like ``conn`` whose token lacks the scope of the address call (Gmail:
    ``gmail.metadata`` reads mail but not the send-as list; Graph: no ``User.Read``)."""
    if world.provider == "google":
        scopes = [
            "https://www.googleapis.com/auth/gmail.metadata",
            "https://www.googleapis.com/auth/calendar.events",
        ]
        access, refresh = world.sandbox.issue_tokens(world.address, scopes)
        data = {"provider": "google", "refresh_token": refresh, "token": access, "scopes": scopes}
        conn.close()
        return GoogleConnector(
            world.settings, google_credentials(world.settings, data), world.address
        )
    access, _ = world.sandbox.issue_tokens(world.address, ["Mail.ReadWrite", "Calendars.ReadWrite"])
    conn.api.token = lambda force=False: access
    return conn


def test_scope_not_granted_is_no_error_and_the_sync_goes_on(world: World) -> None:
    give_aliases(world, ALIAS)
    with world.sessions() as session, session.begin():
        account = session.get(Account, world.account_id)
        assert account is not None
        account.aliases = ["kept@alias.example"]
    conn = without_address_scope(world, connector(world))
    with capture_logs() as logs:
        found = conn.own_addresses()
    assert found == []
    refused = [e for e in world.sandbox.log if e.endpoint == ENDPOINT[world.provider]]
    assert [e.status for e in refused] == [403]  # asked once, not retried
    infos = [e for e in logs if e["event"].startswith("identity.")]
    assert len(infos) == 1 and infos[0]["log_level"] == "info" and infos[0]["status"] == 403
    # The sync goes on. (Every Gmail scope that reads mail bodies also allows the send-as
    # list, so the Google token here reads headers at most: sync its calendar.)
    streams = ["gcal"] if world.provider == "google" else None
    result = sync_account(
        world.sessions, world.account_id, world.settings, connector=conn, streams=streams
    )
    conn.close()
    assert result.fetched >= (12 if world.provider == "google" else 52)
    assert not any(s.error for s in result.streams.values())
    account = stored(world)
    assert account.aliases == ["kept@alias.example"]  # unknown is not "none"
    assert account.aliases_checked_at is not None


def test_sync_stores_aliases_first_then_daily(world: World) -> None:
    give_aliases(world, ALIAS)
    box = world.mailbox
    now = datetime.now(UTC)
    # The owner wrote from the primary to the alias: "self" only if the alias is known
    # before the backfill reads it.
    raw = raw_message(world.address, ALIAS, "Note to self", "Remember the milk.\n", now)
    if world.provider == "google":
        box.add_message(raw, labels=["SENT"])
    else:
        box.add_message(raw, folder="sentitems")
    start = datetime.now(UTC)
    with clock.held(start) as held:
        sync_account(world.sessions, world.account_id, world.settings)
        account = stored(world)
        assert account.aliases == [ALIAS]
        assert account.display_name == "Owen Owner"
        assert account.aliases_checked_at is not None
        assert account.aliases_checked_at - start < timedelta(minutes=5)
        with world.sessions() as session:
            note = session.scalars(select(Message).where(Message.subject == "Note to self")).one()
            assert note.direction == "self"
            owner = session.get(Owner, account.owner_id)
            assert owner is not None and owner.analysis_due_at is not None
        assert calls(world) == 1

        sync_account(world.sessions, world.account_id, world.settings)
        assert calls(world) == 1  # within the day: not asked again

        # A day later the person has another alias, already a contact of theirs.
        new_alias = "earlier@alias.example"
        world.sandbox.account(world.address).aliases.append(new_alias)
        with world.sessions() as session, session.begin():
            contact = Contact(owner_id=account.owner_id, primary_address=new_alias, dirty=False)
            session.add(contact)
            session.flush()
            session.add(
                ContactIdentity(owner_id=account.owner_id, contact_id=contact.id, address=new_alias)
            )
            owner = session.get(Owner, account.owner_id)
            assert owner is not None
            owner.analysis_due_at = None
        held.advance(timedelta(hours=25))
        sync_account(world.sessions, world.account_id, world.settings)
        assert calls(world) == 2
        account = stored(world)
        assert account.aliases == sorted([ALIAS, new_alias])
        with world.sessions() as session:
            contact = session.scalars(
                select(Contact).where(Contact.primary_address == new_alias)
            ).one()
            assert contact.dirty  # who the owner is changed: re-analyse that contact
            owner = session.get(Owner, account.owner_id)
            assert owner is not None and owner.analysis_due_at is not None


def test_unchanged_list_does_not_make_analysis_due(world: World) -> None:
    give_aliases(world, ALIAS)
    with clock.held(datetime.now(UTC)) as held:
        sync_account(world.sessions, world.account_id, world.settings)
        account = stored(world)
        with world.sessions() as session, session.begin():
            owner = session.get(Owner, account.owner_id)
            assert owner is not None
            owner.analysis_due_at = None
        held.advance(timedelta(days=2))
        sync_account(world.sessions, world.account_id, world.settings)
        assert calls(world) == 2
        with world.sessions() as session:
            owner = session.get(Owner, account.owner_id)
            assert owner is not None and owner.analysis_due_at is None
        assert stored(world).aliases == [ALIAS]
