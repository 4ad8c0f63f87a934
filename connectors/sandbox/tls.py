"""A local certificate authority and server certificate for the sandbox's https mode.

msal refuses plain http authorities, so the sandbox can serve https with a certificate
for ``127.0.0.1`` / ``localhost`` signed by a throw-away CA made with trustme. Clients
trust that CA through their HTTP session (``session.verify = files.ca_file`` with
``session.trust_env = False`` for requests; ``verify=files.ca_file`` for httpx); uvicorn
gets ``ssl_certfile=files.cert_file, ssl_keyfile=files.key_file``.

The files live in a temporary folder (or one given) and are made once per process.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import trustme

HOSTS = ("127.0.0.1", "localhost", "::1")

_lock = threading.Lock()
_cached: dict[str, TlsFiles] = {}


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: ``ca_file`` for clients, ``cert_file`` (chain) + ``key_file`` for the server."""

    ca_file: str
    cert_file: str
    key_file: str


def make_tls_files(directory: Path | str, hosts: tuple[str, ...] = HOSTS) -> TlsFiles:
    """Write a new CA and a server certificate for ``hosts`` into ``directory``."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="rapportd sandbox")
    server = ca.issue_cert(*hosts)
    files = TlsFiles(
        str(folder / "sandbox-ca.pem"),
        str(folder / "sandbox-cert.pem"),
        str(folder / "sandbox-key.pem"),
    )
    ca.cert_pem.write_to_path(files.ca_file)
    server.private_key_pem.write_to_path(files.key_file)
    with open(files.cert_file, "wb") as out:  # leaf first, then the chain
        for blob in server.cert_chain_pems:
            out.write(blob.bytes())
    return files


def sandbox_tls(directory: Path | str | None = None) -> TlsFiles:
    """The process-wide sandbox TLS files (made on first use; per ``directory`` if given)."""
    key = str(directory or "")
    with _lock:
        if key not in _cached:
            folder = directory or tempfile.mkdtemp(prefix="rapportd-sandbox-tls-")
            _cached[key] = make_tls_files(folder)
        return _cached[key]
