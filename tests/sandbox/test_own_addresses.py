"""Contract tests: the owner's addresses as the sandbox serves them — Gmail
``users.settings.sendAs.list`` (googleapiclient from the bundled discovery document) and
Graph ``/me`` with ``$select=proxyAddresses`` (httpx) — with the scope checks of the real
services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from googleapiclient.errors import HttpError

from rapportd.agent.core.errors import BadData
from rapportd.connectors.sandbox.clients import google_service
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import SandboxHandle, running_sandbox

from .conftest import ANA, google_creds, scenario
from .graph_support import MIA, graph_client, ms_scenario, served

ALIAS = "ana.b@example.org"
PENDING = "ana@old-job.example"


@pytest.fixture
def google() -> Iterator[SandboxHandle]:
    data = scenario()
    data["accounts"][0].update(aliases=[ALIAS.upper()], pending_aliases=[PENDING])
    with running_sandbox(sandbox_from_scenario(data, "aliases")) as handle:
        yield handle


def test_send_as_list_has_the_primary_then_the_aliases(google: SandboxHandle) -> None:
    gmail = google_service("gmail", google.base_url, google_creds(google))
    entries = gmail.users().settings().sendAs().list(userId="me").execute()["sendAs"]
    assert [e["sendAsEmail"] for e in entries] == [ANA, ALIAS, PENDING]
    primary, alias, pending = entries
    assert primary["isPrimary"] is True and primary["isDefault"] is True
    assert "verificationStatus" not in primary  # only custom "from" addresses carry it
    assert alias["verificationStatus"] == "accepted" and alias["treatAsAlias"] is True
    assert "isPrimary" not in alias  # false booleans are left out, as on the wire
    assert pending["verificationStatus"] == "pending"
    assert {e["displayName"] for e in entries} == {"Ana"}
    stats = google.sandbox.mailbox(ANA).counters
    assert stats.units_by_endpoint.get("gmail.users.settings.sendAs.list") == 1


def test_send_as_list_needs_a_read_scope(google: SandboxHandle) -> None:
    compose = google_creds(google, scopes=["https://www.googleapis.com/auth/gmail.compose"])
    gmail = google_service("gmail", google.base_url, compose)
    with pytest.raises(HttpError) as err:
        gmail.users().settings().sendAs().list(userId="me").execute()
    assert err.value.resp.status == 403
    assert err.value.error_details[0]["reason"] == "insufficientPermissions"
    readonly = google_creds(google, scopes=["https://www.googleapis.com/auth/gmail.readonly"])
    gmail = google_service("gmail", google.base_url, readonly)
    assert len(gmail.users().settings().sendAs().list(userId="me").execute()["sendAs"]) == 3


def test_send_as_of_another_user_is_denied(google: SandboxHandle) -> None:
    gmail = google_service("gmail", google.base_url, google_creds(google))
    with pytest.raises(HttpError) as err:
        gmail.users().settings().sendAs().list(userId="carl@example.com").execute()
    assert err.value.resp.status == 403


@pytest.fixture
def graph_handle() -> Iterator[SandboxHandle]:
    data = ms_scenario()  # Mia has the alias m@contoso.example
    with served(sandbox_from_scenario(data, "ms-aliases")) as handle:
        yield handle


def test_me_select_proxy_addresses(graph_handle: SandboxHandle) -> None:
    with graph_client(graph_handle) as graph:
        plain = graph.get("/me").json()
        chosen = graph.get(
            "/me", params={"$select": "proxyAddresses,mail,userPrincipalName,displayName"}
        )
    assert "proxyAddresses" not in plain and plain["mail"] == MIA  # only when selected
    assert chosen.status_code == 200
    body: dict[str, Any] = chosen.json()
    assert body["@odata.context"].endswith(
        "$metadata#users(proxyAddresses,mail,userPrincipalName,displayName)/$entity"
    )
    assert set(body) == {
        "@odata.context",
        "proxyAddresses",
        "mail",
        "userPrincipalName",
        "displayName",
    }
    assert body["proxyAddresses"] == [f"SMTP:{MIA}", "smtp:m@contoso.example", f"SIP:{MIA}"]
    assert body["displayName"] == "Mia Wong" and body["userPrincipalName"] == MIA


def test_me_select_unknown_property_is_400(graph_handle: SandboxHandle) -> None:
    with graph_client(graph_handle) as graph:
        resp = graph.get("/me", params={"$select": "mail,shoeSize"})
    assert resp.status_code == 400
    assert "shoeSize" in resp.json()["error"]["message"]


def test_me_needs_user_read(graph_handle: SandboxHandle) -> None:
    with graph_client(graph_handle, scopes=["Mail.ReadWrite", "Calendars.ReadWrite"]) as graph:
        resp = graph.get("/me", params={"$select": "proxyAddresses"})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "ErrorAccessDenied"


def test_scenario_aliases_must_be_addresses() -> None:
    data = scenario()
    data["accounts"][0]["pending_aliases"] = ["not-an-address"]
    with pytest.raises(BadData, match=r"accounts\[0\]\.pending_aliases\[0\]"):
        sandbox_from_scenario(data, "bad")


def test_control_api_adds_an_account_with_aliases(google: SandboxHandle) -> None:
    with httpx.Client(base_url=google.control_url, timeout=10) as control:
        resp = control.post(
            "/accounts",
            json={
                "provider": "google",
                "address": "zoe@example.com",
                "aliases": ["z@example.com"],
                "pending_aliases": ["zoe@elsewhere.example"],
            },
        )
    assert resp.status_code == 200
    account = google.sandbox.account("zoe@example.com")
    assert account.aliases == ["z@example.com"]
    assert account.pending_aliases == ["zoe@elsewhere.example"]
