"""Gmail push authentication against the sandbox's Google keys: the ``?token=`` secret, the
Pub/Sub OIDC token (signature, issuer, audience, service account, expiry), certificate
caching and rotation, and what the endpoint answers in each case."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.auth import crypt, jwt
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from rapportd.agent.core.settings import load_settings
from rapportd.agent.store.models import PushSubscription
from rapportd.connectors.sandbox import signing
from rapportd.connectors.sandbox.server import SandboxHandle, start_sandbox
from rapportd.connectors.sandbox.state import Sandbox
from rapportd.jobs import tasks
from rapportd.jobs.push import SyncTrigger, push_routes
from rapportd.jobs.push_auth import (
    CertsCache,
    CertsUnavailable,
    GmailPushAuth,
    PushRefused,
    fetch_certs,
)

from .helpers import NOW, Recorder, add_account, add_owner

AUDIENCE = "https://rapportd.example/push/gmail"
PUSHER = "gmail-push@rapportd-project.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def google() -> Iterator[SandboxHandle]:
    handle = start_sandbox(Sandbox())
    yield handle
    handle.stop()


def pubsub_token(google: SandboxHandle, audience: str = AUDIENCE, **kw: Any) -> str:
    body = {"audience": audience, "service_account": kw.pop("account", PUSHER), **kw}
    r = httpx.post(google.control_url + "/pubsub/token", json=body, timeout=10)
    r.raise_for_status()
    return str(r.json()["token"])


def oidc_auth(google: SandboxHandle, **kw: Any) -> GmailPushAuth:
    settings = load_settings(
        google={
            "push_audience": AUDIENCE,
            "push_service_account": PUSHER,
            "push_certs_url": google.base_url + "/oauth2/v1/certs",
            **kw,
        }
    )
    return GmailPushAuth.from_settings(settings.google)


def other_key_token(claims: dict[str, Any]) -> str:
    """A well-formed RS256 token signed by a key Google never published."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = crypt.RSASigner.from_string(pem, key_id=signing.signing_key().key_id)
    return jwt.encode(signer, claims).decode()


def test_a_genuine_pubsub_token_passes_and_every_forgery_is_refused(google) -> None:
    auth = oidc_auth(google)
    auth.check(None, f"Bearer {pubsub_token(google)}")

    now = int(time.time())
    genuine_claims = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "email": PUSHER,
        "email_verified": True,
        "iat": now,
        "exp": now + 600,
    }
    good = pubsub_token(google)
    head, body, sig = good.split(".")
    forged_body = base64.urlsafe_b64encode(
        json.dumps({**genuine_claims, "email": "attacker@evil.example"}).encode()
    ).rstrip(b"=")
    none_head = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    forgeries = {
        "no header": None,
        "not bearer": f"Basic {good}",
        "empty bearer": "Bearer ",
        "garbage": "Bearer not-a-jwt",
        "wrong audience": f"Bearer {pubsub_token(google, audience='https://elsewhere/push')}",
        "wrong account": f"Bearer {pubsub_token(google, account='someone@else.example')}",
        "expired": f"Bearer {pubsub_token(google, lifetime=-600)}",
        "other key": f"Bearer {other_key_token(genuine_claims)}",
        "edited claims": f"Bearer {head}.{forged_body.decode()}.{sig}",
        "alg none": f"Bearer {none_head}.{body}.",
        "not google": "Bearer "
        + signing.sign({**genuine_claims, "iss": "https://login.example"}, lifetime=600),
        "unverified email": "Bearer "
        + signing.sign({**genuine_claims, "email_verified": False}, lifetime=600),
    }
    for name, header in forgeries.items():
        with pytest.raises(PushRefused):
            auth.check(None, header)
            pytest.fail(f"{name} was accepted")


def test_with_token_and_oidc_both_must_hold(google) -> None:
    auth = oidc_auth(google, push_token="a-long-url-secret-0001")
    bearer = f"Bearer {pubsub_token(google)}"
    auth.check("a-long-url-secret-0001", bearer)
    for url_token, header in (
        (None, bearer),
        ("a-long-url-secret-0002", bearer),
        ("a-long-url-secret-0001", None),
    ):
        with pytest.raises(PushRefused):
            auth.check(url_token, header)


def test_without_settings_gmail_push_is_off() -> None:
    auth = GmailPushAuth.from_settings(load_settings().google)
    assert not auth.enabled
    with pytest.raises(PushRefused, match="not configured"):
        auth.check("anything", "Bearer x.y.z")


def test_certificates_are_cached_and_refetched_for_a_new_key_id(google) -> None:
    fetched: list[str] = []
    clock = [0.0]

    def counting(url: str) -> tuple[dict[str, str], float]:
        fetched.append(url)
        return fetch_certs(url)

    cache = CertsCache(google.base_url + "/oauth2/v1/certs", counting, clock=lambda: clock[0])
    auth = GmailPushAuth(audience=AUDIENCE, certs=cache)
    for _ in range(5):
        auth.check(None, f"Bearer {pubsub_token(google)}")
    assert len(fetched) == 1  # Cache-Control max-age honoured

    clock[0] = float(signing.CERTS_MAX_AGE)  # expired: fetched again
    auth.check(None, f"Bearer {pubsub_token(google)}")
    assert len(fetched) == 2

    # an unknown key id triggers one refetch, and forged key ids cannot make it hammer Google
    stranger = other_key_token({"aud": AUDIENCE, "iss": "https://accounts.google.com"})
    head = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"rotated-1"}').rstrip(b"=").decode()
    unknown_kid = ".".join([head, *stranger.split(".")[1:]])
    clock[0] += 61
    for _ in range(10):
        with pytest.raises(PushRefused):
            auth.check(None, f"Bearer {unknown_kid}")
    assert len(fetched) == 3


def test_unreachable_certificates_are_a_retry_not_a_refusal() -> None:
    cache = CertsCache("http://127.0.0.1:9/oauth2/v1/certs")
    auth = GmailPushAuth(audience=AUDIENCE, certs=cache)
    with pytest.raises(CertsUnavailable):
        auth.check(None, "Bearer a.b.c")


def watch(sessions: sessionmaker[Session]) -> int:
    """A Google account with a Gmail watch; its id."""
    owner = add_owner(sessions)
    account = add_account(sessions, owner, "ana@example.com")
    with sessions() as s, s.begin():
        s.add(
            PushSubscription(
                owner_id=owner, account_id=account, provider="google", subscription_id="watch-1"
            )
        )
    return account


def push_app(
    sessions: sessionmaker[Session], recorder: Recorder, auth: GmailPushAuth
) -> TestClient:
    trigger = SyncTrigger(sessions, recorder, clock=lambda: NOW, debounce=0)
    return TestClient(
        Starlette(routes=push_routes(sessions, trigger, enqueue=recorder, gmail_auth=auth))
    )


def pubsub_body(address: str) -> dict[str, Any]:
    data = base64.b64encode(json.dumps({"emailAddress": address, "historyId": "7"}).encode())
    return {"message": {"data": data.decode(), "messageId": "1"}, "subscription": "s"}


def test_the_endpoint_answers_401_403_503_and_acts_only_when_proven(
    google, sessions, recorder
) -> None:
    account = watch(sessions)
    client = push_app(sessions, recorder, oidc_auth(google))
    body = pubsub_body("ana@example.com")
    assert client.post("/push/gmail", json=body).status_code == 401
    forged = {"Authorization": f"Bearer {pubsub_token(google, audience='https://x/push')}"}
    assert client.post("/push/gmail", json=body, headers=forged).status_code == 401
    assert recorder.sent == []
    genuine = {"Authorization": f"Bearer {pubsub_token(google)}"}
    assert client.post("/push/gmail", json=body, headers=genuine).status_code == 204
    assert recorder.sent == [(tasks.SYNC, account)]

    off = push_app(sessions, recorder, GmailPushAuth())
    assert off.post("/push/gmail", json=body, headers=genuine).status_code == 403

    down = GmailPushAuth(audience=AUDIENCE, certs=CertsCache("http://127.0.0.1:9/certs"))
    unreachable = push_app(sessions, recorder, down)
    r = unreachable.post("/push/gmail", json=body, headers=genuine)
    assert r.status_code == 503 and r.headers["retry-after"]
    assert recorder.sent == [(tasks.SYNC, account)]  # neither acted
