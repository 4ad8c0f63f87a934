"""The batch endpoint through googleapiclient's BatchHttpRequest."""

from __future__ import annotations

from typing import Any

from googleapiclient.errors import HttpError

ANA = "ana@example.com"


def run_batch(service: Any, requests: list[Any]) -> dict[str, Any]:
    results: dict[str, Any] = {}

    def done(request_id: str, response: Any, exception: Exception | None) -> None:
        results[request_id] = exception if exception is not None else response

    batch = service.new_batch_http_request(callback=done)
    for request in requests:
        batch.add(request)
    batch.execute()
    return results


def test_gmail_batch_of_metadata_gets(gmail: Any, control: Any) -> None:
    ids = [m["id"] for m in gmail.users().messages().list(userId="me").execute()["messages"]]
    results = run_batch(
        gmail,
        [
            gmail.users()
            .messages()
            .get(userId="me", id=i, format="metadata", metadataHeaders=["From", "Subject"])
            for i in ids
        ],
    )
    assert len(results) == len(ids)
    got = sorted(r["id"] for r in results.values())
    assert got == sorted(ids)
    assert all(len(r["payload"]["headers"]) == 2 for r in results.values())
    stats = control.get("/stats", params={"account": ANA}).json()["accounts"][ANA]
    assert stats["calls"]["gmail.users.messages.get"] == len(ids)
    assert stats["calls"]["batch"] == 1


def test_a_429_hides_inside_a_batch(gmail: Any, control: Any) -> None:
    ids = [
        m["id"]
        for m in gmail.users().messages().list(userId="me", maxResults=5).execute()["messages"]
    ]
    control.post(
        "/faults", json={"kind": "429", "endpoint": "gmail.users.messages.get", "count": 2}
    )
    results = run_batch(gmail, [gmail.users().messages().get(userId="me", id=i) for i in ids])
    errors = [r for r in results.values() if isinstance(r, HttpError)]
    assert len(errors) == 2 and all(e.resp.status == 429 for e in errors)
    assert sum(1 for r in results.values() if isinstance(r, dict)) == 3


def test_calendar_batch_path(calendar: Any, control: Any) -> None:
    results = run_batch(
        calendar,
        [
            calendar.events().get(calendarId="primary", eventId=e)
            for e in ("evt0001", "evt0002", "nosuchevent")
        ],
    )
    statuses = sorted(type(r).__name__ for r in results.values())
    assert statuses == ["HttpError", "dict", "dict"]
    paths = [e["path"] for e in control.get("/log").json()["entries"] if e["endpoint"] == "batch"]
    assert paths == ["/batch/calendar/v3"]


def test_batch_inner_quota_units_are_counted(gmail: Any, control: Any) -> None:
    ids = [m["id"] for m in gmail.users().messages().list(userId="me").execute()["messages"]]
    control.post("/quota", json={"gmail_units_per_minute": 5 + 5 * 4})
    results = run_batch(gmail, [gmail.users().messages().get(userId="me", id=i) for i in ids[:8]])
    ok = [r for r in results.values() if isinstance(r, dict)]
    limited = [r for r in results.values() if isinstance(r, HttpError)]
    assert len(ok) == 4 and len(limited) == 4
    assert all(r.resp.status == 429 for r in limited)
