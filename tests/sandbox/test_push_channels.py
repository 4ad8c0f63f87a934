"""Contract tests of the push channels: Gmail ``users.watch`` through the Pub/Sub stand-in
(googleapiclient) and Graph change-notification subscriptions (httpx), delivered to a small
HTTP receiver running in a thread."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from google.auth import jwt
from googleapiclient.errors import HttpError

from rapportd.connectors.sandbox.graph_subscriptions import TENANT_ID
from rapportd.connectors.sandbox.server import SandboxHandle

from .graph_support import MIA, graph_client, ms_sandbox, served

ANA = "ana@example.com"
TOPIC = "projects/rapportd-test/topics/gmail"
AUDIENCE = "https://rapportd.example/push/gmail"


# --------------------------------------------------------------------------- receiver
@dataclass
class Received:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """Records every POST. Answers Graph's validation by echoing the token (``echo``) or
    with a wrong body, after ``delay`` seconds; other POSTs with ``status`` after calling
    ``on_post``."""

    def __init__(
        self,
        *,
        echo: bool = True,
        status: int = 202,
        on_post: Callable[[Received], None] | None = None,
        delay: float = 0,
    ) -> None:
        self.echo, self.status, self.on_post, self.delay = echo, status, on_post, delay
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        split = urlsplit(handler.path)
        got = Received(split.path, dict(parse_qsl(split.query)), dict(handler.headers), body)
        with self._lock:
            self.requests.append(got)
        if "validationToken" in got.query:
            time.sleep(self.delay)
            answer = got.query["validationToken"] if self.echo else "not the token"
            self._reply(handler, 200, answer.encode(), "text/plain")
            return
        if self.on_post is not None:
            self.on_post(got)
        self._reply(handler, self.status, b"", "text/plain")

    @staticmethod
    def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def posts(self) -> list[Received]:
        """Requests other than validation requests."""
        with self._lock:
            return [r for r in self.requests if "validationToken" not in r.query]

    def validations(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if "validationToken" in r.query]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(**kw: Any) -> Receiver:
        made.append(Receiver(**kw))
        return made[-1]

    yield make
    for r in made:
        r.close()


# --------------------------------------------------------------------------- Gmail + Pub/Sub
def _subscribe(control: httpx.Client, endpoint: str, **extra: Any) -> str:
    resp = control.post(
        "/pubsub/subscriptions", json={"topic": TOPIC, "push_endpoint": endpoint, **extra}
    )
    assert resp.status_code == 200, resp.text
    name: str = resp.json()["name"]
    assert name.startswith("projects/sandbox/subscriptions/")
    return name


def _deliver(control: httpx.Client, address: str, subject: str, **extra: Any) -> dict[str, Any]:
    resp = control.post(
        f"/accounts/{address}/deliver",
        json={"from": "Bob <bob@partner.org>", "subject": subject, "body": "hi", **extra},
    )
    assert resp.status_code == 200, resp.text
    out: dict[str, Any] = resp.json()
    return out


def _data(push: Received) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(base64.b64decode(push.json()["message"]["data"]))
    return out


def test_watch_then_mail_pushes_a_signed_pubsub_message(
    server: SandboxHandle, gmail: Any, control: httpx.Client, receivers: Any
) -> None:
    seen: list[int] = []
    token = server.sandbox.issue_tokens(ANA, ["gmail.readonly"])[0]

    def call_back(got: Received) -> None:  # the receiver syncs at once, as rapportd does
        start = _data(got)["historyId"] - 1
        resp = httpx.get(
            f"{server.base_url}/gmail/v1/users/me/history",
            params={"startHistoryId": start},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        seen.append(resp.status_code)

    receiver = receivers(status=200, on_post=call_back)
    name = _subscribe(control, receiver.url + "/push/gmail?token=s3cret", audience=AUDIENCE)
    watch = gmail.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    assert watch["historyId"] == str(server.sandbox.mailbox(ANA).history_id)
    expires_in = int(watch["expiration"]) - server.sandbox.clock.now_ms()
    assert abs(expires_in - 7 * 86400 * 1000) < 60_000

    _deliver(control, ANA, "Pushed")
    server.sandbox.flush_deliveries()

    [push] = receiver.posts()
    assert push.path == "/push/gmail" and push.query == {"token": "s3cret"}
    body = push.json()
    assert body["subscription"] == name
    assert body["message"]["messageId"].isdigit() and body["message"]["publishTime"].endswith("Z")
    data = _data(push)
    assert data["emailAddress"] == ANA
    assert isinstance(data["historyId"], int) and data["historyId"] > int(watch["historyId"])
    scheme, _, bearer = push.headers["Authorization"].partition(" ")
    certs = httpx.get(server.base_url + "/oauth2/v1/certs").json()
    claims = jwt.decode(bearer, certs=certs, audience=AUDIENCE)
    assert scheme == "Bearer" and claims["email"] == "pubsub-push@sandbox.iam.gserviceaccount.com"
    assert seen == [200]  # the sandbox answered the receiver while it was being pushed to

    history = gmail.users().history().list(userId="me", startHistoryId=watch["historyId"]).execute()
    assert any("messagesAdded" in h for h in history["history"])
    [record] = control.get("/pubsub/deliveries").json()["deliveries"]
    assert record["endpoint"].endswith("/push/gmail?token=***")
    assert (record["kind"], record["status"], record["attempts"]) == ("pubsub", 200, 1)


def test_label_filter_include_and_exclude(
    server: SandboxHandle, gmail: Any, control: httpx.Client, receivers: Any
) -> None:
    receiver = receivers(status=204)
    _subscribe(control, receiver.url + "/push")
    body = {"topicName": TOPIC, "labelIds": ["SENT"], "labelFilterBehavior": "include"}
    gmail.users().watch(userId="me", body=body).execute()
    _deliver(control, ANA, "inbox mail, filtered out")
    server.sandbox.flush_deliveries()
    assert receiver.posts() == []

    body = {"topicName": TOPIC, "labelIds": ["INBOX"], "labelFilterBehavior": "exclude"}
    gmail.users().watch(userId="me", body=body).execute()  # renewal replaces the filter
    _deliver(control, ANA, "excluded")
    _deliver(control, ANA, "not in the inbox", labels=["CATEGORY_UPDATES"])
    server.sandbox.flush_deliveries()
    assert len(receiver.posts()) == 1 and "authorization" not in {
        k.lower() for k in receiver.posts()[0].headers
    }
    [watch] = control.get("/pubsub/watches").json()["watches"]
    assert watch["label_ids"] == ["INBOX"] and watch["label_filter_behavior"] == "exclude"


def test_stop_and_expiry_end_pushes(
    server: SandboxHandle, gmail: Any, control: httpx.Client, receivers: Any
) -> None:
    receiver = receivers(status=200)
    _subscribe(control, receiver.url + "/push")
    gmail.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    assert gmail.users().stop(userId="me").execute() in ("", {}, None)
    _deliver(control, ANA, "after stop")
    gmail.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    control.post("/clock/advance", json={"days": 8})
    _deliver(control, ANA, "after expiry")
    server.sandbox.flush_deliveries()
    assert receiver.posts() == []
    assert gmail.users().stop(userId="me").execute() in ("", {}, None)  # refreshes its token


def test_bad_topic_is_400(gmail: Any) -> None:
    with pytest.raises(HttpError) as err:
        gmail.users().watch(userId="me", body={"topicName": "gmail-topic"}).execute()
    assert err.value.resp.status == 400
    error = json.loads(err.value.content)["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["message"].startswith(
        "Invalid topicName"
    )


def test_failing_endpoint_is_retried_then_recorded(
    server: SandboxHandle, gmail: Any, control: httpx.Client, receivers: Any
) -> None:
    receiver = receivers(status=503)
    _subscribe(control, receiver.url + "/push")
    gmail.users().watch(userId="me", body={"topicName": TOPIC}).execute()
    _deliver(control, ANA, "nacked")
    server.sandbox.flush_deliveries()
    assert len(receiver.posts()) == 3
    [record] = control.get("/pubsub/deliveries").json()["deliveries"]
    assert (record["status"], record["attempts"]) == (503, 3)
    assert control.delete("/pubsub/subscriptions").json() == {"removed": 1}


# --------------------------------------------------------------------------- Graph
@pytest.fixture
def handle() -> Iterator[SandboxHandle]:
    with served(ms_sandbox()) as h:
        yield h


@pytest.fixture
def graph(handle: SandboxHandle) -> Iterator[httpx.Client]:
    with graph_client(handle) as client:
        yield client


def _expiry(handle: SandboxHandle, minutes: float) -> str:
    return (handle.sandbox.now() + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def _subscription(handle: SandboxHandle, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": url,
        "resource": "me/mailFolders('inbox')/messages",
        "expirationDateTime": _expiry(handle, 60),
        "clientState": "s3cret-state",
        **extra,
    }


def test_create_validates_the_endpoint(
    handle: SandboxHandle, graph: httpx.Client, receivers: Any
) -> None:
    good = receivers()
    resp = graph.post("/subscriptions", json=_subscription(handle, good.url + "/graph?k=1"))
    assert resp.status_code == 201, resp.text
    sub = resp.json()
    assert sub["resource"] == "me/mailFolders('inbox')/messages"
    assert sub["changeType"] == "created,updated,deleted" and sub["clientState"] == "s3cret-state"
    assert sub["latestSupportedTlsVersion"] == "v1_2" and len(sub["id"]) == 36
    [check] = good.validations()
    assert check.query["k"] == "1" and check.body == b""
    assert check.headers["Content-Type"].startswith("text/plain")

    bad = receivers(echo=False)
    resp = graph.post("/subscriptions", json=_subscription(handle, bad.url + "/graph"))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "InvalidRequest"
    assert resp.json()["error"]["message"].startswith("Subscription validation request failed.")
    assert [s["id"] for s in graph.get("/subscriptions").json()["value"]] == [sub["id"]]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"expirationDateTime": "PAST"}, "ExpirationDateTimeOutOfRange"),
        ({"expirationDateTime": "FAR"}, "ExpirationDateTimeOutOfRange"),
        ({"resource": "me/contacts"}, "InvalidRequest"),
        ({"changeType": "created,moved"}, "InvalidRequest"),
    ],
)
def test_create_rejects_bad_requests(
    handle: SandboxHandle, graph: httpx.Client, receivers: Any, change: dict[str, str], code: str
) -> None:
    body = _subscription(handle, receivers().url)
    when = {"PAST": _expiry(handle, -5), "FAR": _expiry(handle, 10081)}
    body.update({k: when.get(v, v) for k, v in change.items()})
    resp = graph.post("/subscriptions", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == code


def test_new_mail_notifies_with_the_listed_id(
    handle: SandboxHandle, graph: httpx.Client, receivers: Any
) -> None:
    receiver = receivers()
    sub = graph.post("/subscriptions", json=_subscription(handle, receiver.url + "/n")).json()
    with httpx.Client(base_url=handle.control_url) as control:
        _deliver(control, MIA, "Notify me")
    handle.sandbox.flush_deliveries()

    [post] = receiver.posts()
    [note] = post.json()["value"]
    oid = graph.get("/me").json()["id"]
    listed = graph.get("/me/mailFolders/inbox/messages", params={"$top": 1}).json()["value"][0]
    assert note["subscriptionId"] == sub["id"] and note["changeType"] == "created"
    assert note["clientState"] == "s3cret-state" and note["tenantId"] == TENANT_ID
    assert note["resource"] == f"Users/{oid}/Messages/{listed['id']}"
    assert note["resourceData"]["id"] == listed["id"]
    assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Message"
    assert note["subscriptionExpirationDateTime"] == sub["expirationDateTime"]


def test_rest_ids_and_updates_on_all_mail(handle: SandboxHandle, receivers: Any) -> None:
    receiver = receivers()
    with graph_client(handle, prefer=[]) as graph:  # no ImmutableId: REST ids
        body = _subscription(handle, receiver.url, resource="/me/messages", changeType="updated")
        assert graph.post("/subscriptions", json=body).status_code == 201
        listed = graph.get("/me/messages", params={"$top": 1}).json()["value"][0]
        assert graph.patch(f"/me/messages/{listed['id']}", json={"isRead": True}).is_success
    handle.sandbox.flush_deliveries()
    [post] = receiver.posts()
    [note] = post.json()["value"]
    assert note["changeType"] == "updated" and note["resourceData"]["id"] == listed["id"]


def test_renew_delete_and_lifecycle(
    handle: SandboxHandle, graph: httpx.Client, receivers: Any
) -> None:
    receiver, life = receivers(), receivers()
    body = _subscription(handle, receiver.url, lifecycleNotificationUrl=life.url + "/life")
    sub = graph.post("/subscriptions", json=body).json()
    assert len(life.validations()) == 1

    later = _expiry(handle, 7 * 24 * 60 - 1)
    renewed = graph.patch(f"/subscriptions/{sub['id']}", json={"expirationDateTime": later})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"][:19] == later[:19]
    too_far = graph.patch(
        f"/subscriptions/{sub['id']}", json={"expirationDateTime": _expiry(handle, 20000)}
    )
    assert too_far.json()["error"]["code"] == "ExpirationDateTimeOutOfRange"
    missing = graph.patch("/subscriptions/nope", json={"expirationDateTime": later})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceNotFound"

    with httpx.Client(base_url=handle.control_url) as control:
        fired = control.post(
            f"/graph/subscriptions/{sub['id']}/lifecycle",
            json={"event": "reauthorizationRequired"},
        )
        assert fired.json() == {"delivered": 202}
        [note] = life.posts()[0].json()["value"]
        assert note["lifecycleEvent"] == "reauthorizationRequired"
        assert note["subscriptionId"] == sub["id"] and note["clientState"] == "s3cret-state"

        assert graph.delete(f"/subscriptions/{sub['id']}").status_code == 204
        assert graph.get("/subscriptions").json()["value"] == []
        _deliver(control, MIA, "nobody listens")
    handle.sandbox.flush_deliveries()
    assert receiver.posts() == []


def test_event_subscriptions_and_their_scope(handle: SandboxHandle, receivers: Any) -> None:
    receiver = receivers()
    body = _subscription(handle, receiver.url, resource="me/events", changeType="deleted")
    with graph_client(handle, scopes=["Mail.ReadWrite"]) as mail_only:
        resp = mail_only.post("/subscriptions", json=body)
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "ErrorAccessDenied"
    with graph_client(handle) as graph:
        assert graph.post("/subscriptions", json=body).status_code == 201
        assert graph.delete("/me/events/evt0003").status_code == 204
    handle.sandbox.flush_deliveries()
    [post] = receiver.posts()
    [note] = post.json()["value"]
    assert note["changeType"] == "deleted" and note["resource"].endswith("/Events/evt0003")
    assert note["resourceData"]["@odata.type"] == "#Microsoft.Graph.Event"


def test_validation_does_not_block_the_sandbox(handle: SandboxHandle, receivers: Any) -> None:
    slow = receivers(delay=1.0)
    body = _subscription(handle, slow.url)
    results: list[int] = []
    with graph_client(handle) as graph:
        creating = threading.Thread(
            target=lambda: results.append(graph.post("/subscriptions", json=body).status_code)
        )
        creating.start()
        while not slow.validations():
            time.sleep(0.01)
        started = time.monotonic()
        with graph_client(handle) as other:
            assert other.get("/me/messages", params={"$top": 1}).status_code == 200
        assert httpx.get(handle.control_url + "/clock").status_code == 200
        assert time.monotonic() - started < 0.5
        creating.join()
    assert results == [201]
