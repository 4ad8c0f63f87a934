"""Run the sandbox with uvicorn: in the foreground (``serve``) or in a background thread
(``running_sandbox``, for tests and the demo)."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from rapportd.connectors.sandbox.app import build_app
from rapportd.connectors.sandbox.state import Sandbox


class _DropFilter(logging.Filter):
    """Hide uvicorn's traceback for connections the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return type(exc).__name__ != "ConnectionDropped"


logging.getLogger("uvicorn.error").addFilter(_DropFilter())


def _tls_options(tls: bool) -> tuple[dict[str, Any], str | None]:
    """uvicorn ssl options and the CA file clients must trust (None without TLS)."""
    if not tls:
        return {}, None
    from rapportd.connectors.sandbox import tls as tls_mod

    files = tls_mod.sandbox_tls()
    return {"ssl_certfile": files.cert_file, "ssl_keyfile": files.key_file}, files.ca_file


@dataclass
class SandboxHandle:
    """A running sandbox: where it listens and how to stop it."""

    sandbox: Sandbox
    base_url: str
    ca_file: str | None
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def control_url(self) -> str:
        return self.base_url + "/_sandbox"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=1)
        if self._thread.is_alive():  # a client still holds a keep-alive (TLS) connection
            self._server.force_exit = True
            self._thread.join(timeout=5)


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def start_sandbox(
    sandbox: Sandbox, *, tls: bool = False, host: str = "127.0.0.1", port: int = 0
) -> SandboxHandle:
    """Start serving in a daemon thread; returns once the server accepts connections."""
    ssl, ca_file = _tls_options(tls)
    sock = _bind(host, port)
    config = uvicorn.Config(
        build_app(sandbox),
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=30,
        **ssl,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="rapportd-sandbox"
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    scheme = "https" if tls else "http"
    name = "localhost" if tls else host
    return SandboxHandle(
        sandbox, f"{scheme}://{name}:{sock.getsockname()[1]}", ca_file, server, thread
    )


@contextlib.contextmanager
def running_sandbox(sandbox: Sandbox, tls: bool = False) -> Iterator[SandboxHandle]:
    """``with running_sandbox(sb) as handle:`` serve ``sb`` on a free port, stop after."""
    handle = start_sandbox(sandbox, tls=tls)
    try:
        yield handle
    finally:
        handle.stop()


def serve(
    sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 8765, tls: bool = False
) -> None:
    """Serve in the foreground until interrupted (``rapportd sandbox serve``)."""
    ssl, ca_file = _tls_options(tls)
    if ca_file:
        print(f"trust this CA: {ca_file}")
    uvicorn.run(build_app(sandbox), host=host, port=port, log_level="info", lifespan="off", **ssl)
