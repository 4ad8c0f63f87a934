"""Contract tests: Graph mail endpoints of the sandbox, driven with plain httpx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rapportd.connectors.sandbox.server import SandboxHandle

from .graph_support import MIA, PROP, follow, graph_client, ms_sandbox, served


@pytest.fixture
def handle() -> Iterator[SandboxHandle]:
    with served(ms_sandbox()) as h:
        yield h


@pytest.fixture
def graph(handle: SandboxHandle) -> Iterator[httpx.Client]:
    with graph_client(handle) as client:
        yield client


def test_me_and_mailbox_settings(graph: httpx.Client) -> None:
    me = graph.get("/me").json()
    assert me["mail"] == MIA and me["displayName"] == "Mia Wong" and me["id"]
    assert graph.get("/me/mailboxSettings").json()["timeZone"] == "Europe/Paris"
    assert graph.get("/me/mailboxSettings/timeZone").json()["value"] == "Europe/Paris"


def test_bearer_token_is_required(handle: SandboxHandle) -> None:
    with httpx.Client(base_url=handle.base_url + "/v1.0") as anon:
        resp = anon.get("/me")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "InvalidAuthenticationToken"
    bad = httpx.get(handle.base_url + "/v1.0/me", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_mailbox_settings_need_their_scope(handle: SandboxHandle) -> None:
    with graph_client(handle, scopes=["Mail.ReadWrite", "User.Read"]) as client:
        assert client.get("/me").status_code == 200
        resp = client.get("/me/mailboxSettings")
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "ErrorAccessDenied"


def test_inbox_delta_pages_then_returns_changes(handle: SandboxHandle, graph: httpx.Client) -> None:
    items, delta = follow(
        graph,
        "/me/mailFolders/inbox/messages/delta",
        params={"$select": "subject,from,receivedDateTime"},
        headers={"Prefer": "odata.maxpagesize=7"},
    )
    assert len(items) == 25 and len({m["id"] for m in items}) == 25
    first = items[0]
    assert set(first) == {"@odata.etag", "id", "subject", "from", "receivedDateTime"}
    assert first["from"]["emailAddress"] == {"name": "Bob Stone", "address": "bob@partner.org"}
    assert first["receivedDateTime"].endswith("Z")
    # nothing changed: the delta round is empty
    again, delta2 = follow(graph, delta)
    assert again == []
    # a new mail arrives, one is deleted, one moves to deleted items
    mb = handle.sandbox.mailbox(MIA)
    new = mb.add_message(
        b"From: z@x.org\r\nTo: mia@contoso.example\r\nSubject: New\r\n"
        b"Message-ID: <new@x.org>\r\n\r\nhi\r\n",
        folder="inbox",
    )
    victims = [m for m in mb.messages.values() if m.folder == "inbox" and m.id != new.id][:2]
    mb.delete_message(victims[0].id)
    mb.move_message(victims[1].id, "deleteditems")
    changes, _ = follow(graph, delta2)
    removed = [c for c in changes if "@removed" in c]
    added = [c for c in changes if "@removed" not in c]
    assert [a["subject"] for a in added] == ["New"]
    assert len(removed) == 2 and all(c["@removed"]["reason"] == "deleted" for c in removed)


def test_sentitems_delta_with_internet_message_headers(graph: httpx.Client) -> None:
    items, _ = follow(
        graph,
        "/me/mailFolders/sentitems/messages/delta",
        params={"$select": "subject,internetMessageHeaders,uniqueBody,body"},
        headers={"Prefer": 'outlook.body-content-type="text"'},
    )
    assert len(items) == 1
    assert items[0]["body"]["contentType"] == "text"
    headers = {h["name"]: h["value"] for h in items[0]["internetMessageHeaders"]}
    assert headers["In-Reply-To"] == "<m0@partner.org>"
    assert "I'll send the deck by Friday." in items[0]["uniqueBody"]["content"]
    assert "Bob wrote" not in items[0]["uniqueBody"]["content"]
    plain, _ = follow(graph, "/me/mailFolders/inbox/messages/delta", params={"$select": "subject"})
    assert "internetMessageHeaders" not in plain[0]


def test_expired_delta_link_is_410(handle: SandboxHandle, graph: httpx.Client) -> None:
    _, delta = follow(graph, "/me/mailFolders/inbox/messages/delta")
    handle.sandbox.faults.add_json(
        {"kind": "expired_sync_token", "endpoint": "graph.messages.delta", "count": 1}
    )
    resp = graph.get(delta)
    assert resp.status_code == 410
    assert resp.json()["error"]["code"] in ("syncStateNotFound", "resyncRequired")
    fresh, _ = follow(graph, "/me/mailFolders/inbox/messages/delta")
    assert len(fresh) == 25


def test_stale_history_delta_is_410_resync(handle: SandboxHandle, graph: httpx.Client) -> None:
    _, delta = follow(graph, "/me/mailFolders/inbox/messages/delta")
    handle.sandbox.mailbox(MIA).forget_history()
    resp = graph.get(delta)
    assert resp.status_code == 410 and resp.json()["error"]["code"] == "resyncRequired"


def test_immutable_ids_survive_a_move_rest_ids_do_not(handle: SandboxHandle) -> None:
    with graph_client(handle) as immut, graph_client(handle, prefer=[]) as rest:
        imm_items, _ = follow(immut, "/me/mailFolders/inbox/messages/delta")
        rest_items, _ = follow(rest, "/me/mailFolders/inbox/messages/delta")
        by_subject = {m["subject"]: m["id"] for m in rest_items}
        target = imm_items[0]
        rest_id = by_subject[target["subject"]]
        assert rest_id != target["id"]
        internal = next(
            m.id
            for m in handle.sandbox.mailbox(MIA).messages.values()
            if m.header("Subject") == target["subject"]
        )
        handle.sandbox.mailbox(MIA).move_message(internal, "archive")
        moved = immut.get(f"/me/messages/{target['id']}")
        assert moved.status_code == 200 and moved.json()["id"] == target["id"]
        assert rest.get(f"/me/messages/{rest_id}").status_code == 404
        new_rest = rest.get(f"/me/messages/{target['id']}").json()["id"]
        assert new_rest != rest_id


def test_draft_create_patch_find_by_extended_property_delete(graph: httpx.Client) -> None:
    body = {
        "subject": "Checking in",
        "body": {"contentType": "text", "content": "Hi Bob!"},
        "toRecipients": [{"emailAddress": {"address": "bob@partner.org", "name": "Bob"}}],
        "singleValueExtendedProperties": [{"id": PROP, "value": "KEY-1"}],
    }
    created = graph.post("/me/messages", json=body)
    assert created.status_code == 201
    draft = created.json()
    assert draft["isDraft"] is True and draft["subject"] == "Checking in"
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'KEY-1')"
    found = graph.get("/me/messages", params={"$filter": flt}).json()["value"]
    assert [m["id"] for m in found] == [draft["id"]]
    assert (
        graph.get("/me/messages", params={"$filter": flt.replace("KEY-1", "KEY-2")}).json()["value"]
        == []
    )
    patched = graph.patch(
        f"/me/messages/{draft['id']}",
        json={"body": {"contentType": "text", "content": "Hi Bob, edited."}},
    )
    assert patched.status_code == 200 and patched.json()["id"] == draft["id"]
    got = graph.get(
        f"/me/messages/{draft['id']}",
        headers={"Prefer": 'outlook.body-content-type="text"'},
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}')"},
    )
    data = got.json()
    assert "edited" in data["body"]["content"]
    assert data["singleValueExtendedProperties"] == [{"id": PROP, "value": "KEY-1"}]
    drafts, _ = follow(graph, "/me/mailFolders/drafts/messages/delta")
    assert [d["id"] for d in drafts] == [draft["id"]]
    assert graph.delete(f"/me/messages/{draft['id']}").status_code == 204
    assert graph.get(f"/me/messages/{draft['id']}").status_code == 404


def test_create_reply_threads_the_draft(graph: httpx.Client) -> None:
    inbox, _ = follow(
        graph,
        "/me/mailFolders/inbox/messages/delta",
        params={"$select": "subject,conversationId,internetMessageId"},
    )
    original = next(m for m in inbox if m["subject"] == "Topic 3")
    resp = graph.post(
        f"/me/messages/{original['id']}/createReply",
        json={
            "comment": "Sounds good.",
            "message": {"singleValueExtendedProperties": [{"id": PROP, "value": "R1"}]},
        },
    )
    assert resp.status_code == 201
    reply = resp.json()
    assert reply["isDraft"] and reply["subject"] == "RE: Topic 3"
    assert reply["conversationId"] == original["conversationId"]
    assert reply["toRecipients"][0]["emailAddress"]["address"] == "bob@partner.org"
    headers = graph.get(
        f"/me/messages/{reply['id']}", params={"$select": "internetMessageHeaders"}
    ).json()
    values = {h["name"]: h["value"] for h in headers["internetMessageHeaders"]}
    assert values["In-Reply-To"] == original["internetMessageId"]
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'R1')"
    assert len(graph.get("/me/messages", params={"$filter": flt}).json()["value"]) == 1


def test_received_message_cannot_be_rewritten(graph: httpx.Client) -> None:
    inbox, _ = follow(graph, "/me/mailFolders/inbox/messages/delta")
    resp = graph.patch(f"/me/messages/{inbox[0]['id']}", json={"subject": "changed"})
    assert resp.status_code == 400
    assert graph.patch(f"/me/messages/{inbox[0]['id']}", json={"isRead": True}).status_code == 200


@pytest.mark.parametrize(("kind", "status"), [("429", 429), ("503", 503)])
def test_faults_on_graph(
    handle: SandboxHandle, graph: httpx.Client, kind: str, status: int
) -> None:
    handle.sandbox.faults.add_json(
        {"kind": kind, "endpoint": "graph.messages.delta", "count": 1, "retry_after": 2}
    )
    resp = graph.get("/me/mailFolders/inbox/messages/delta")
    assert resp.status_code == status
    assert resp.headers["Retry-After"] == "2"
    assert "code" in resp.json()["error"]
    assert graph.get("/me/mailFolders/inbox/messages/delta").status_code == 200


def test_drop_fault_breaks_the_connection(handle: SandboxHandle, graph: httpx.Client) -> None:
    handle.sandbox.faults.add_json({"kind": "drop", "endpoint": "graph.me.get", "count": 1})
    with pytest.raises(httpx.HTTPError):
        graph.get("/me").json()
    assert graph.get("/me").status_code == 200


def test_revoked_token_is_401(handle: SandboxHandle, graph: httpx.Client) -> None:
    handle.sandbox.faults.add_json({"kind": "revoked", "endpoint": "graph.*", "count": 1})
    assert graph.get("/me").status_code == 401
    assert graph.get("/me").status_code == 401  # the grant stays revoked
