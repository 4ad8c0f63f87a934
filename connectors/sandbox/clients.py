"""Official Google clients pointed at a sandbox (or any root URL): used by tests, the
benchmark and the demo. The bundled discovery document is rewritten (rootUrl), which also
moves the batch path, as PROVIDERS.md explains."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

DOCS = {"gmail": "gmail.v1.json", "calendar": "calendar.v3.json"}


@cache
def _document_text(api: str) -> str:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / DOCS[api]
    return path.read_text()


def discovery_document(api: str, base_url: str) -> dict[str, Any]:
    """The bundled discovery document of ``api`` with its root URL set to ``base_url``."""
    doc = json.loads(_document_text(api))
    root = base_url.rstrip("/") + "/"
    doc["rootUrl"] = root
    doc["mtlsRootUrl"] = root
    doc["baseUrl"] = root + doc.get("servicePath", "")
    return doc


def google_credentials(
    base_url: str,
    access_token: str | None,
    refresh_token: str | None,
    scopes: Sequence[str] = (),
    *,
    client_id: str = "rapportd-sandbox",
    client_secret: str = "sandbox-secret",
) -> Any:
    from google.oauth2.credentials import Credentials

    return Credentials(
        token=access_token,
        refresh_token=refresh_token,
        token_uri=base_url.rstrip("/") + "/token",
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(scopes) or None,
    )


def google_service(api: str, base_url: str, credentials: Any, *, http: Any = None) -> Any:
    """A googleapiclient Resource for ``api`` ("gmail" or "calendar") at ``base_url``."""
    from googleapiclient.discovery import build_from_document

    doc = discovery_document(api, base_url)
    if http is not None:
        return build_from_document(doc, http=http)
    return build_from_document(doc, credentials=credentials)
