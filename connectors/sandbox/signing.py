"""The sandbox's Google signing key: RS256 ID tokens that verify as Google's would.

Google signs ID tokens (sign-in, and the OIDC tokens Cloud Pub/Sub attaches to push
requests) with keys it publishes at ``/oauth2/v1/certs`` as ``{key id: PEM certificate}``.
The sandbox does the same with one RSA key made per process: ``GET /oauth2/v1/certs``
serves its self-signed certificate, and :func:`sign` makes tokens that
``google.auth.jwt.decode`` accepts against it. Token times use the wall clock, because
verifiers check them against theirs.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from rapportd.agent.core import clock

GOOGLE_ISSUER = "https://accounts.google.com"
CERTS_MAX_AGE = 21600  # what Google's certs endpoint allows, roughly


@dataclass(frozen=True)
class SigningKey:
    key_id: str
    private_pem: bytes
    certificate_pem: str


_lock = threading.Lock()
_key: SigningKey | None = None


def signing_key() -> SigningKey:
    """The process's key (made on first use: a 2048-bit RSA key takes ~50 ms)."""
    global _key
    with _lock:
        if _key is None:
            _key = _make_key()
        return _key


def _make_key() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rapportd sandbox google")])
    now = clock.wall_now()  # a certificate's validity is read against the real clock
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(private, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    return SigningKey(
        key_id=hashlib.sha1(der).hexdigest(),  # Google's key ids are 40 hex digits too
        private_pem=private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
    )


def certs() -> dict[str, str]:
    """The body of ``/oauth2/v1/certs``."""
    key = signing_key()
    return {key.key_id: key.certificate_pem}


def sign(claims: dict[str, Any], *, lifetime: int = 3600) -> str:
    """An RS256 JWT with ``iss``/``iat``/``exp`` filled in (the caller's claims win)."""
    key = signing_key()
    now = int(clock.wall_now().timestamp())  # google-auth checks iat/exp on the real clock
    payload = {"iss": GOOGLE_ISSUER, "iat": now, "exp": now + lifetime, **claims}
    signer = crypt.RSASigner.from_string(key.private_pem, key_id=key.key_id)
    return jwt.encode(signer, payload).decode()


def pubsub_push_token(audience: str, service_account: str, *, lifetime: int = 3600) -> str:
    """The OIDC token Cloud Pub/Sub attaches to a push request of a subscription that pushes
    as ``service_account`` with ``audience`` (its documented claims)."""
    return sign(
        {
            "aud": audience,
            "azp": hashlib.sha256(service_account.encode()).hexdigest()[:21],
            "sub": hashlib.sha256(service_account.encode()).hexdigest()[:21],
            "email": service_account,
            "email_verified": True,
        },
        lifetime=lifetime,
    )
