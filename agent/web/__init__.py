"""rapportd's review page and JSON API (FastAPI + Jinja, htmx shipped with the package).

Modules: ``app`` (create_app), ``auth`` (sessions), ``csrf``, ``security`` (headers,
passwords, signing key), ``views`` (suggestions), ``contacts``, ``accounts``, ``prefs``
(settings), ``signin``, ``oauth_flow``, ``api`` (JSON), ``queries`` (owner-scoped reads),
``presenters``, ``charts`` (inline SVG), ``links``, ``owners_cli`` (``rapportd owners``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rapportd.agent.web.app import create_app as create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from rapportd.agent.web.app import create_app

        return create_app
    raise AttributeError(name)
