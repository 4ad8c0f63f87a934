from __future__ import annotations

import io
import json
import logging

from rapportd.agent.core.logs import configure_logging, get_logger, mask_text


def test_json_logs_mask_secrets_by_name_and_by_shape() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    log = get_logger("test")
    log.info(
        "token refreshed",
        account_id=7,
        refresh_token="1//0gabcdefghijklmnopqrstuvwxyz",
        detail="POST /token body: refresh_token=1//0gSECRETSECRET&client_secret=abc123",
        header="Authorization: Bearer ya29.a0AfH6SMBxyz",
    )
    logging.getLogger("httpx").warning("call with access_token=%s", "ya29.zzzzzzzzzzzz")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    assert lines[0]["account_id"] == 7
    assert lines[0]["event"] == "token refreshed"
    for secret in ("1//0gabcdefghij", "SECRETSECRET", "abc123", "ya29.a0AfH6SMBxyz", "ya29.zzzz"):
        assert secret not in text
    assert "[masked]" in lines[0]["refresh_token"]


def test_mask_text_keeps_ordinary_words() -> None:
    assert mask_text("synced 42 messages for ana@example.com") == (
        "synced 42 messages for ana@example.com"
    )
    assert "eyJ" not in mask_text("id_token eyJhbGciOi.eyJzdWIiOiIxMjM0.c2lnbmF0dXJl")
