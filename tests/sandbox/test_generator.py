"""The scenario generator: deterministic, realistic in its counts, loadable by the sandbox,
and its ground truth agrees with the mail and events it wrote."""

from __future__ import annotations

import email
import email.policy
import html
import json
import re
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rapportd.connectors.sandbox.generator import generate
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario


@pytest.fixture(scope="module")
def year() -> tuple[dict[str, Any], dict[str, Any], float]:
    start = time.perf_counter()
    scenario, truth = generate(owners=1, days=365, seed=11)
    return scenario, truth, time.perf_counter() - start


def parsed(raw: str) -> email.message.EmailMessage:
    return email.message_from_string(raw, policy=email.policy.default)  # type: ignore[return-value]


def body_text(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(("plain", "html"))
    if part is None:
        return ""
    text = part.get_content()
    if part.get_content_type() == "text/html":
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


class _Parsed(dict):  # type: ignore[type-arg]
    """Message-ID -> parsed message, parsed on first use (parsing 5,000 is slow)."""

    def __init__(self, raws: dict[str, str]) -> None:
        super().__init__()
        self.raws = raws

    def __contains__(self, key: object) -> bool:
        return key in self.raws

    def __missing__(self, key: str) -> email.message.EmailMessage:
        self[key] = parsed(self.raws[key])
        return self[key]


def test_deterministic_for_a_seed() -> None:
    a = generate(1, 90, 3)
    b = generate(1, 90, 3)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    c = generate(1, 90, 4)
    assert json.dumps(a[0]["messages"]) != json.dumps(c[0]["messages"])


def test_now_is_the_scenario_clock() -> None:
    scenario, truth = generate(1, 30, 3, now="2025-03-01T08:00:00Z")
    assert scenario["now"] == truth["now"] == "2025-03-01T08:00:00Z"
    dates = [parsed(m["raw"])["Date"].datetime for m in scenario["messages"]]
    assert max(dates) < datetime.fromisoformat("2025-03-01T08:00:00+00:00")


def test_one_year_is_fast_and_realistic(year: tuple[dict[str, Any], dict[str, Any], float]) -> None:
    scenario, truth, seconds = year
    assert seconds < 5
    messages = scenario["messages"]
    assert 3000 <= len(messages) <= 8000
    owner = truth["owners"][0]
    cats = Counter(c["category"] for c in owner["contacts"])
    assert len(owner["contacts"]) >= 90
    assert {
        "client",
        "colleague",
        "vendor",
        "friend",
        "family",
        "newsletter",
        "noreply",
        "list",
    } <= set(cats)
    assert {c["rhythm"]["kind"] for c in owner["contacts"]} >= {"weekly", "monthly", "irregular"}
    assert owner["drifting"] and all(
        c["fading"] for c in owner["contacts"] if c["email"] in owner["drifting"]
    )
    raws = [m["raw"] for m in messages]
    assert sum("List-Unsubscribe:" in r for r in raws) > 100
    assert sum("Auto-Submitted: auto-generated" in r for r in raws) > 50
    assert sum("\nOn " in r and " wrote:" in r for r in raws) > 200
    assert sum("\nSent: " in r and "\nFrom: " in r for r in raws) > 100
    assert sum("\n-- \r\n" in r for r in raws) > 500
    assert sum(r.count("Content-Type: text/html") and "text/plain" not in r for r in raws) > 50
    assert sum("Content-Disposition: attachment" in r for r in raws) > 30
    assert sum("=?utf-8?" in r for r in raws) > 50  # non-ASCII names, RFC 2047 encoded
    offsets = {re.search(r"^Date: .* ([+-]\d{4})\r$", r, re.M).group(1) for r in raws}  # type: ignore[union-attr]
    assert len(offsets) >= 4
    accounts = Counter(m["account"] for m in messages)
    assert len(accounts) == 2 and min(accounts.values()) > 500
    assert {"inbox", "sentitems"} <= {m.get("folder") for m in messages}
    labels = {lab for m in messages for lab in m.get("labels", [])}
    assert {"INBOX", "SENT", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES", "CATEGORY_FORUMS"} <= labels


def test_commitments_are_varied_and_resolved(
    year: tuple[dict[str, Any], dict[str, Any], float],
) -> None:
    owner = year[1]["owners"][0]
    items = owner["commitments"]
    assert len(items) >= 100
    kinds = Counter((c["kind"], c["owner_is_author"]) for c in items)
    assert (
        kinds[("commitment", True)] and kinds[("commitment", False)] and kinds[("request", False)]
    )
    assert {c["kept"] for c in items if c["kind"] == "commitment"} >= {True, False, None}
    assert {c["answered"] for c in items if c["kind"] == "request"} == {True, False}
    assert any(c["due"] is None for c in items) and sum(c["due"] is not None for c in items) > 50
    # varied phrasing: many distinct sentence shapes once objects and deadlines are removed
    shapes = {re.sub(r"\b(by|next|within|before|in)\b.*", "", c["sentence"])[:25] for c in items}
    assert len(shapes) >= 25


def test_ground_truth_matches_the_mail(year: tuple[dict[str, Any], dict[str, Any], float]) -> None:
    scenario, truth, _ = year
    raws = {}
    for m in scenario["messages"]:
        found = re.search(r"^Message-ID: (\S+)\r$", m["raw"], re.M)
        assert found is not None
        raws[found.group(1)] = m["raw"]
    by_id = _Parsed(raws)
    owner = truth["owners"][0]
    for c in owner["commitments"]:
        msg = by_id[c["message_id"]]
        text = body_text(msg)
        assert " ".join(c["sentence"].split()) in " ".join(text.split()), c
        assert all(t in by_id for t in c["thread"])
        assert c["by"].lower() in msg["From"].lower()
        if c["delivered_message_id"]:
            delivered = by_id[c["delivered_message_id"]]
            sent_local = delivered["Date"].datetime.date()
            if c["due"]:
                assert c["kept"] == (sent_local <= date.fromisoformat(c["due"]))
            assert delivered["In-Reply-To"] in c["thread"]
        if c["kind"] == "request" and c["answered"]:
            answer = by_id[c["answered_message_id"]]
            assert answer["Date"].datetime > msg["Date"].datetime
    events = {e["id"]: e for e in scenario["events"]}
    meetings = owner["meetings"]
    assert all(m["event_id"] in events for m in meetings)
    assert any(m["recurring"] for m in meetings) and any(m["declined"] for m in meetings)
    assert any(m["cancelled"] for m in meetings) and any(m["external"] for m in meetings)
    assert any(m["internal"] and not m["external"] for m in meetings)
    assert max(len(events[m["event_id"]]["attendees"]) for m in meetings) > 30  # all-hands
    org = owner["org_domains"][0]
    for contact in owner["contacts"]:
        assert contact["internal"] == contact["email"].endswith("@" + org)


def test_scenario_loads_into_the_sandbox(
    year: tuple[dict[str, Any], dict[str, Any], float],
) -> None:
    scenario, truth, _ = year
    sandbox = sandbox_from_scenario(scenario, "generated", ticking=False)
    owner = truth["owners"][0]
    counts = Counter(m["account"] for m in scenario["messages"])
    for address, n in counts.items():
        assert len(sandbox.mailbox(address).messages) == n
    work = sandbox.mailbox(owner["accounts"]["microsoft"])
    assert work.account.provider == "microsoft" and owner["addresses"][2] in work.account.aliases
    assert {m.folder for m in work.messages.values()} == {"inbox", "sentitems"}
    threads = Counter(m.thread_id for m in work.messages.values())
    assert max(threads.values()) >= 4  # replies thread by In-Reply-To / References
    n_events = sum(len(sandbox.mailbox(a).events) for a in counts)
    assert n_events == len(scenario["events"])


def test_cli_writes_both_files(tmp_path: Path) -> None:
    from rapportd.agent.cli.main import app

    out = tmp_path / "scen"
    result = CliRunner().invoke(
        app, ["sandbox", "generate", "--owners", "2", "--days", "30", "--seed", "9", str(out)]
    )
    assert result.exit_code == 0, result.output
    scenario = json.loads((out / "scenario.json").read_text("utf-8"))
    truth = json.loads((out / "ground_truth.json").read_text("utf-8"))
    assert len(scenario["accounts"]) == 4 and len(truth["owners"]) == 2
    assert scenario == generate(2, 30, 9)[0]
