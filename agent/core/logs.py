"""Structured logging (structlog): JSON when not on a terminal, with secrets masked.

Every event passes :func:`mask_secrets`, which replaces anything that looks like a token,
a key or a password (by field name or by shape) with ``'[masked]'`` before it is written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

MASK = "[masked]"
SECRET_FIELD = re.compile(
    r"(token|secret|password|passwd|authorization|api_key|apikey|cookie|credential|key$|code_verifier|client_state)",
    re.I,
)
# Shapes of secrets that may hide inside free text: bearer tokens, Google access/refresh
# tokens, JWTs, Fernet tokens, long base64/hex runs, and key=value pairs naming a secret.
SECRET_SHAPES = [
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"\bya29\.[A-Za-z0-9._-]+"),
    re.compile(r"\b1//[A-Za-z0-9._-]{10,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    re.compile(r"\bgAAAAA[A-Za-z0-9_=-]{20,}"),
    re.compile(
        r"(?i)\b(access_token|refresh_token|id_token|client_secret|password|code|api_key|key|token)=([^&\s\"']+)"
    ),
    re.compile(r"\b[A-Za-z0-9+/_-]{40,}={0,2}"),
]


def mask_text(text: str) -> str:
    """Replace every secret-looking run in ``text`` with ``[masked]``."""
    for shape in SECRET_SHAPES:
        if shape.groups == 2:
            text = shape.sub(lambda m: f"{m.group(1)}={MASK}", text)
        else:
            text = shape.sub(MASK, text)
    return text


def _mask_value(key: str, value: Any) -> Any:
    if SECRET_FIELD.search(key) and value not in (None, "", b""):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, v) for v in value]
    return value


def mask_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets by field name and by shape."""
    for key in list(event_dict):
        event_dict[key] = _mask_value(key, event_dict[key])
    return event_dict


class _MaskingFilter(logging.Filter):
    """Masks secrets in records of the standard library's loggers (httpx, msal, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in args)
        return True


def configure_logging(level: str = "INFO", fmt: str = "auto", stream: Any = None) -> None:
    """Set up structlog and the standard library's logging once, for the whole process."""
    stream = stream or sys.stderr
    as_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        mask_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(_MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "httpx",
        "httpcore",
        "googleapiclient.discovery_cache",
        "urllib3",
        "msal",
        "alembic",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
