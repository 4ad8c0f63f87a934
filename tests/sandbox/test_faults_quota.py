"""Faults and quotas as the official clients see them."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from rapportd.connectors.sandbox.faults import Fault, FaultPlan

ANA = "ana@example.com"


def first_id(gmail: Any) -> str:
    return gmail.users().messages().list(userId="me", maxResults=1).execute()["messages"][0]["id"]


def add_fault(control: httpx.Client, **fault: Any) -> None:
    control.post("/faults", json=fault).raise_for_status()


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        ("429", 429, "rateLimitExceeded"),
        ("403_rate", 403, "rateLimitExceeded"),
        ("403_user_rate", 403, "userRateLimitExceeded"),
        ("500", 500, "backendError"),
        ("503", 503, "backendError"),
    ],
)
def test_error_faults_fire_next_n_calls(
    gmail: Any, control: Any, kind: str, status: int, reason: str
) -> None:
    mid = first_id(gmail)
    add_fault(
        control, kind=kind, account=ANA, endpoint="gmail.users.messages.get", count=2, retry_after=3
    )
    for _ in range(2):
        with pytest.raises(HttpError) as err:
            gmail.users().messages().get(userId="me", id=mid).execute()
        assert err.value.resp.status == status
        assert err.value.error_details[0]["reason"] == reason
        if kind == "429":
            assert err.value.resp["retry-after"] == "3"
    assert gmail.users().messages().get(userId="me", id=mid).execute()["id"] == mid
    gmail.users().messages().list(userId="me").execute()  # other endpoints unaffected
    assert control.get("/faults").json()["faults"] == []


def test_client_retries_through_transient_5xx(gmail: Any, control: Any) -> None:
    add_fault(control, kind="503", endpoint="gmail.users.getProfile", count=1)
    profile = gmail.users().getProfile(userId="me").execute(num_retries=2)
    assert profile["emailAddress"] == ANA


def test_fault_for_another_account_does_not_fire(gmail: Any, control: Any) -> None:
    add_fault(control, kind="500", account="carl@example.com", endpoint="*")
    gmail.users().getProfile(userId="me").execute()


def test_latency(gmail: Any, control: Any) -> None:
    add_fault(control, kind="latency", endpoint="gmail.users.getProfile", count=1, latency_ms=300)
    started = time.monotonic()
    gmail.users().getProfile(userId="me").execute()
    assert time.monotonic() - started >= 0.3


def test_dropped_connection(gmail: Any, control: Any) -> None:
    add_fault(control, kind="drop", endpoint="gmail.users.messages.list", count=1)
    with pytest.raises(Exception) as err:
        gmail.users().messages().list(userId="me").execute()
    assert not isinstance(err.value, HttpError)  # a transport error, not an HTTP answer
    assert gmail.users().messages().list(userId="me").execute()["resultSizeEstimate"] > 0


def test_random_faults_are_seeded() -> None:
    def run(seed: int) -> list[bool]:
        plan = FaultPlan(seed=seed)
        plan.add(Fault("500", rate=0.3))
        return [bool(plan.fire(ANA, "gmail.users.messages.get")) for _ in range(200)]

    first = run(7)
    assert first == run(7)
    assert 30 < sum(first) < 90
    assert first != run(8)


def test_stale_history_fault(gmail: Any, control: Any) -> None:
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    add_fault(control, kind="stale_history", endpoint="gmail.users.history.list", count=1)
    with pytest.raises(HttpError) as err:
        gmail.users().history().list(userId="me", startHistoryId=start).execute()
    assert err.value.resp.status == 404
    with pytest.raises(HttpError):  # the old cursor stays stale: a full re-sync is needed
        gmail.users().history().list(userId="me", startHistoryId=start).execute()


def test_expired_sync_token_fault(calendar: Any, control: Any) -> None:
    token = calendar.events().list(calendarId="primary").execute()["nextSyncToken"]
    add_fault(control, kind="expired_sync_token", endpoint="calendar.events.list", count=1)
    with pytest.raises(HttpError) as err:
        calendar.events().list(calendarId="primary", syncToken=token).execute()
    assert err.value.resp.status == 410


def test_revoked_fault(gmail: Any, control: Any) -> None:
    add_fault(control, kind="revoked", account=ANA, count=1)
    with pytest.raises(RefreshError, match="invalid_grant"):
        gmail.users().getProfile(userId="me").execute()


@pytest.mark.parametrize(
    ("mode", "status", "reason"),
    [("429", 429, "rateLimitExceeded"), ("403", 403, "userRateLimitExceeded")],
)
def test_gmail_units_per_user_per_minute(
    gmail: Any, control: Any, mode: str, status: int, reason: str
) -> None:
    mid = first_id(gmail)  # 5 units
    control.post("/quota", json={"gmail_units_per_minute": 26, "gmail_over_quota": mode})
    for _ in range(4):  # 4 x 5 units: 25 in all
        gmail.users().messages().get(userId="me", id=mid).execute()
    gmail.users().getProfile(userId="me").execute()  # 1 unit: 26
    with pytest.raises(HttpError) as err:
        gmail.users().getProfile(userId="me").execute()
    assert err.value.resp.status == status
    assert err.value.error_details[0]["reason"] == reason
    assert int(err.value.resp["retry-after"]) >= 1
    stats = control.get("/stats", params={"account": ANA}).json()["accounts"][ANA]
    assert stats["units"] == 26 and stats["gmail_units_last_minute"] == 26
    assert stats["calls"]["gmail.users.messages.get"] == 4
    assert stats["statuses"][str(status)] == 1
    control.post("/clock/advance", json={"seconds": 61})
    gmail.users().getProfile(userId="me").execute()


def test_request_log_has_what_tests_need(gmail: Any, control: Any) -> None:
    gmail.users().getProfile(userId="me").execute()
    entry = control.get("/log", params={"account": ANA}).json()["entries"][-1]
    assert entry["method"] == "GET" and entry["path"] == "/gmail/v1/users/me/profile"
    assert entry["endpoint"] == "gmail.users.getProfile" and entry["status"] == 200
    assert entry["start"] <= entry["end"] and entry["units"] == 1
