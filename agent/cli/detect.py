"""``rapportd detect --jsonl``: the detector as a filter over JSON lines (a stable interface).

Input, one JSON object per line on stdin: {"id", "text", "sent_at" (ISO 8601), and optionally
"from", "to" (string or list), "subject", "tz"}; unknown fields are ignored. Output, one line
per input: {"id", "items": [{"kind", "by", "to", "text", "due": "YYYY-MM-DD"|null,
"confidence"}]}, or {"id", "error"} for a line that cannot be read; the run goes on.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated, Any, TextIO

import typer


def process_line(line: str, detect_fn: Any) -> dict[str, object]:
    """One input line -> one output object (never raises)."""
    ident: object = None
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("a line must be a JSON object")
        ident = data.get("id")
        text = data.get("text")
        if not isinstance(text, str):
            raise ValueError("'text' must be a string")
        raw_sent = data.get("sent_at")
        if not isinstance(raw_sent, str):
            raise ValueError("'sent_at' must be an ISO 8601 string")
        sent_at = datetime.fromisoformat(raw_sent.strip().replace("Z", "+00:00"))
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        to = data.get("to") or []
        recipients = [to] if isinstance(to, str) else [str(x) for x in to if x]
        tz = data.get("tz") or "UTC"
        items = detect_fn(
            text,
            sent_at=sent_at,
            tz=str(tz),
            sender=str(data.get("from") or ""),
            recipients=tuple(recipients),
            subject=str(data.get("subject") or ""),
        )
        return {"id": ident, "items": [i.as_json() for i in items]}
    except Exception as exc:
        return {"id": ident, "error": f"{type(exc).__name__}: {exc}"[:300]}


def run(stdin: TextIO, stdout: TextIO, detect_fn: Any) -> int:
    """Filter stdin to stdout; returns the number of lines that had an error."""
    errors = 0
    for line in stdin:
        if not line.strip():
            continue
        out = process_line(line, detect_fn)
        errors += "error" in out
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
    return errors


def register(app: typer.Typer) -> None:
    @app.command("detect")
    def detect_command(
        jsonl: Annotated[
            bool, typer.Option("--jsonl", help="Read JSON lines on stdin, write JSON lines.")
        ] = True,
        detector: Annotated[
            str | None, typer.Option(help="local or llm (default: the 'detector' setting).")
        ] = None,
    ) -> None:
        """Find commitments and requests in email bodies (JSON lines in, JSON lines out)."""
        from rapportd.agent.core.settings import get_settings
        from rapportd.agent.inference.llm_detect import detect_with

        settings = get_settings()
        if detector is not None:
            if detector not in ("local", "llm"):
                raise typer.BadParameter("--detector must be 'local' or 'llm'")
            settings = settings.model_copy(update={"detector": detector})

        def detect_fn(text: str, **kwargs: Any) -> Any:
            return detect_with(settings, text, **kwargs)

        run(sys.stdin, sys.stdout, detect_fn)
