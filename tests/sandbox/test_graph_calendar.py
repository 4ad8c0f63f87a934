"""Contract tests: Graph calendar, $batch and throttling of the sandbox, with plain httpx."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from rapportd.connectors.sandbox.server import SandboxHandle

from .graph_support import MIA, PROP, follow, graph_client, ms_sandbox, served

WINDOW = {"startDateTime": "2026-11-01T00:00:00Z", "endDateTime": "2026-12-31T00:00:00Z"}


@pytest.fixture
def handle() -> Iterator[SandboxHandle]:
    with served(ms_sandbox()) as h:
        yield h


@pytest.fixture
def graph(handle: SandboxHandle) -> Iterator[httpx.Client]:
    with graph_client(handle) as client:
        yield client


def hold(key: str, day: int = 26) -> dict[str, object]:
    return {
        "subject": "Hold: send the deck",
        "showAs": "tentative",
        "transactionId": f"tx-{key}",
        "start": {"dateTime": f"2026-11-{day}T15:00:00", "timeZone": "UTC"},
        "end": {"dateTime": f"2026-11-{day}T15:30:00", "timeZone": "UTC"},
        "singleValueExtendedProperties": [{"id": PROP, "value": key}],
    }


def test_calendar_view_delta_needs_a_window(graph: httpx.Client) -> None:
    resp = graph.get("/me/calendarView/delta")
    assert resp.status_code == 400


def test_calendar_delta_round_trip(handle: SandboxHandle, graph: httpx.Client) -> None:
    events, delta = follow(
        graph, "/me/calendarView/delta", params=WINDOW, headers={"Prefer": "odata.maxpagesize=3"}
    )
    assert len(events) == 8
    first = events[0]
    assert first["start"] == {"dateTime": "2026-11-10T08:00:00.0000000", "timeZone": "UTC"}
    assert first["organizer"]["emailAddress"]["address"] == "bob@partner.org"
    assert first["responseStatus"]["response"] == "accepted"
    assert first["type"] == "singleInstance" and first["iCalUId"]
    paris = graph.get("/me/events/evt0000", headers={"Prefer": 'outlook.timezone="Europe/Paris"'})
    assert paris.json()["start"]["dateTime"] == "2026-11-10T09:00:00.0000000"
    nothing, delta = follow(graph, delta)
    assert nothing == []
    created = graph.post("/me/events", json=hold("K1")).json()
    assert graph.delete("/me/events/evt0003").status_code == 204
    changes, _ = follow(graph, delta)
    assert {c["id"] for c in changes} == {created["id"], "evt0003"}
    removed = [c for c in changes if "@removed" in c]
    assert [c["id"] for c in removed] == ["evt0003"]


def test_expired_calendar_delta_is_410(handle: SandboxHandle, graph: httpx.Client) -> None:
    _, delta = follow(graph, "/me/calendarView/delta", params=WINDOW)
    handle.sandbox.mailbox(MIA).expire_sync_tokens()
    resp = graph.get(delta)
    assert resp.status_code == 410 and resp.json()["error"]["code"] == "syncStateNotFound"


def test_hold_is_idempotent_by_transaction_id(graph: httpx.Client) -> None:
    first = graph.post("/me/events", json=hold("K2"))
    again = graph.post("/me/events", json=hold("K2"))
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["showAs"] == "tentative" and first.json()["transactionId"] == "tx-K2"
    flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{PROP}' and ep/value eq 'K2')"
    found = graph.get(
        "/me/events",
        params={
            "$filter": flt,
            "$expand": f"singleValueExtendedProperties($filter=id eq '{PROP}')",
        },
    )
    values = found.json()["value"]
    assert [e["id"] for e in values] == [first.json()["id"]]
    assert values[0]["singleValueExtendedProperties"][0]["value"] == "K2"
    # accepting the hold = the person changes it to busy; PATCH shows it
    patched = graph.patch(f"/me/events/{first.json()['id']}", json={"showAs": "busy"})
    assert patched.json()["showAs"] == "busy"
    assert graph.delete(f"/me/events/{first.json()['id']}").status_code == 204
    assert graph.get(f"/me/events/{first.json()['id']}").status_code == 404
    third = graph.post("/me/events", json=hold("K2"))
    assert third.json()["id"] != first.json()["id"]  # a deleted event does not block a new one


def test_get_schedule(graph: httpx.Client) -> None:
    body = {
        "schedules": [MIA, "nobody@elsewhere.org"],
        "startTime": {"dateTime": "2026-11-10T08:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2026-11-10T10:00:00", "timeZone": "UTC"},
        "availabilityViewInterval": 30,
    }
    resp = graph.post("/me/calendar/getSchedule", json=body)
    assert resp.status_code == 200
    mine, other = resp.json()["value"]
    assert mine["availabilityView"] == "2200"
    assert mine["scheduleItems"][0]["status"] == "busy"
    assert "error" in other


def test_batch_answers_each_request(handle: SandboxHandle, graph: httpx.Client) -> None:
    handle.sandbox.faults.add_json(
        {"kind": "429", "endpoint": "graph.events.get", "count": 1, "retry_after": 3}
    )
    requests = [
        {"id": "1", "method": "GET", "url": "/me"},
        {"id": "2", "method": "GET", "url": "/me/events/evt0001"},
        {"id": "3", "method": "GET", "url": "/me/events/evt0002"},
        {
            "id": "4",
            "method": "POST",
            "url": "/me/events",
            "body": hold("B1"),
            "headers": {"Content-Type": "application/json"},
        },
        {"id": "5", "method": "GET", "url": "/me/events/missing"},
    ]
    resp = graph.post("/$batch", json={"requests": requests})
    assert resp.status_code == 200
    by_id = {r["id"]: r for r in resp.json()["responses"]}
    assert by_id["1"]["status"] == 200 and by_id["1"]["body"]["mail"] == MIA
    assert by_id["2"]["status"] == 429 and by_id["2"]["headers"]["Retry-After"] == "3"
    assert by_id["3"]["status"] == 200 and by_id["3"]["body"]["subject"] == "Meeting 2"
    assert by_id["4"]["status"] == 201
    assert by_id["5"]["status"] == 404


def test_batch_of_more_than_20_is_400(graph: httpx.Client) -> None:
    requests = [{"id": str(i), "method": "GET", "url": "/me"} for i in range(21)]
    assert graph.post("/$batch", json={"requests": requests}).status_code == 400
    ok = graph.post("/$batch", json={"requests": requests[:20]})
    assert ok.status_code == 200 and len(ok.json()["responses"]) == 20


def test_fifth_concurrent_request_is_throttled(handle: SandboxHandle) -> None:
    handle.sandbox.faults.add_json(
        {"kind": "latency", "endpoint": "graph.me.get", "latency_ms": 700, "count": 4}
    )
    statuses: list[int] = []
    clients = [graph_client(handle) for _ in range(4)]
    threads = [
        threading.Thread(target=lambda c=c: statuses.append(c.get("/me").status_code))
        for c in clients
    ]
    for t in threads:
        t.start()
    import time

    deadline = time.monotonic() + 5
    while handle.sandbox.quota.in_flight.get(MIA, 0) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    with graph_client(handle) as fifth:
        resp = fifth.get("/me")
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1
    assert sorted(statuses) == [200, 200, 200, 200]


def test_ten_minute_budget(handle: SandboxHandle, graph: httpx.Client) -> None:
    handle.sandbox.quota.update({"graph_requests_per_10min": 5})
    codes = [graph.get("/me").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    last = graph.get("/me")
    assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0
