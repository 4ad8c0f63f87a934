"""Bad input never crashes rapportd: the nasty corpus and generated garbage go through the
MIME parser directly, and through the sandbox + the real connectors + analysis + planning;
each bad item is stored with its reason (``Message.problems``) or as a ``SkippedItem``,
and the rest of the sync goes on."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from rapportd.agent.core.errors import BadData
from rapportd.agent.store.models import Account, Message, SkippedItem
from rapportd.connectors import mime

from . import harness as H
from .nasty import OWNER, corpus

# What the parser must say about the items whose defect it can see.
EXPECTED_PROBLEM = {
    "missing-date": "no Date header",
    "missing-from": "no usable From header",
    "headers-only": "no Date header",
    "garbage-bytes": "no usable From header",
    "date-garbage": "unparseable Date header",
    "date-offset-absurd": "unparseable Date header",
    "wrong-charset": "bad charset",
    "unknown-charset": "bad charset",
    "no-charset-8bit": "bad charset",
    "broken-boundary": "MIME defects",
    "multipart-no-boundary": "MIME defects",
    "huge-20mb-text": "text cut",
}
FIGURES: dict[str, int] = {}


def storable(value: Any) -> bool:
    """True when every string in ``value`` can be written to a database (no lone surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(storable(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(storable(v) for v in value)
    return True


def _parse(raw: bytes, max_chars: int = 20000) -> Any:
    rec = mime.record_from_raw("id-1", raw, owner_addresses=[OWNER], max_chars=max_chars)
    fields = dataclasses.asdict(rec)
    assert storable(fields), [k for k, v in fields.items() if not storable(v)]
    return rec


@pytest.mark.parametrize(
    ("name", "raw"), corpus(big=False), ids=lambda v: v if isinstance(v, str) else ""
)
def test_parser_survives_the_corpus(name: str, raw: bytes) -> None:
    if not raw:
        with pytest.raises(BadData):
            _parse(raw)
        return
    rec = _parse(raw)
    assert rec.provider_id == "id-1"
    assert len(rec.new_text) <= 20000
    if name in EXPECTED_PROBLEM:
        assert any(EXPECTED_PROBLEM[name] in p for p in rec.problems), rec.problems
    if name == "deep-nesting-60":
        assert "deck by Friday" in rec.new_text
    if name == "html-script":
        assert "alert" not in rec.new_text and "ok" in rec.new_text


def test_parser_survives_the_big_ones() -> None:
    for name, raw in corpus(big=True)[-3:]:
        rec = _parse(raw)
        assert rec.text_truncated, name
        assert len(rec.new_text) <= 20000, name


def test_absurd_dates_are_noted_and_replaced_by_the_providers_date() -> None:
    received = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)
    for name in ("date-1900", "date-2100", "date-1979"):
        raw = dict(corpus(big=False))[name]
        rec = mime.record_from_raw("x", raw, owner_addresses=[OWNER], fallback_date=received)
        assert any("implausible Date" in p for p in rec.problems), (name, rec.problems)
        assert rec.sent_at == received, name
        # with no better date the header's is kept (nothing lost) and the problem still noted
        rec = mime.record_from_raw("x", raw, owner_addresses=[OWNER], fallback_date=None)
        assert rec.sent_at is not None and rec.sent_at != received, name
        assert any("kept: no better date" in p for p in rec.problems), (name, rec.problems)
    # a sender's clock a few hours fast, and an old but real date, are left alone
    for header, when in (
        ("Tue, 03 Mar 2026 15:00:00 +0000", datetime(2026, 3, 3, 15, tzinfo=UTC)),
        ("Wed, 01 Mar 2000 10:00:00 -0800", datetime(2000, 3, 1, 18, tzinfo=UTC)),
    ):
        raw = f"From: a@x.example\r\nDate: {header}\r\n\r\nhi\r\n".encode()
        rec = mime.record_from_raw("x", raw, owner_addresses=[OWNER], fallback_date=received)
        assert rec.sent_at == when and not rec.problems, (header, rec.problems)


# --------------------------------------------------------------------------- generated garbage
HEADER_NAMES = [
    "From",
    "To",
    "Cc",
    "Date",
    "Subject",
    "Message-ID",
    "Content-Type",
    "Content-Transfer-Encoding",
    "In-Reply-To",
    "References",
    "MIME-Version",
]
header_value = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=80).map(lambda b: b.decode("latin-1")),
    st.sampled_from(
        [
            "multipart/mixed; boundary=",
            'multipart/alternative; boundary="x"',
            "text/html",
            "text/plain; charset=x-unknown",
            "base64",
            "quoted-printable",
            "=?utf-8?B?@@@?=",
            "<a@b>",
            "Mon, 32 Foo 99999 25:61:61 +9999",
            '"unterminated',
            "<>",
            ";;;,,,",
        ]
    ),
)
message_bytes = st.builds(
    lambda headers, body, eol: (
        eol.join(f"{k}: {v}".encode("utf-8", "surrogateescape") for k, v in headers)
        + eol
        + eol
        + body
    ),
    st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_value), max_size=14),
    st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=3000).map(str.encode),
        st.integers(1, 40).map(
            lambda n: b"--x\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n" * n
        ),
    ),
    st.sampled_from([b"\r\n", b"\n", b"\r"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.one_of(message_bytes, st.binary(min_size=1, max_size=4000)))
def test_parser_never_raises_on_generated_garbage(raw: bytes) -> None:
    rec = _parse(raw, max_chars=500)
    assert len(rec.new_text) <= 500
    assert rec.sent_at is None or rec.sent_at.tzinfo is not None
    FIGURES["fuzzed"] = FIGURES.get("fuzzed", 0) + 1
    if FIGURES["fuzzed"] % 100 == 0:
        H.record("fuzz_parser", messages=100, crashed=0)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=message_bytes)
def test_draft_text_never_raises(raw: bytes) -> None:
    to, subject, body, _tag = mime.draft_text(raw)
    assert isinstance(body, str) and isinstance(subject, str)
    assert all("@" in a.email for a in to)


# --------------------------------------------------------------------------- through the sandbox
def _internal_id(provider_id: str, provider: str) -> str:
    """The sandbox's own id of a stored message (Graph ids encode it)."""
    if provider == "google":
        return provider_id
    from rapportd.connectors.sandbox.graph_ids import decode_message_id

    try:
        return decode_message_id(provider_id)[0]
    except ValueError:
        return provider_id


def deliver(sandbox: Any, address: str, items: list[tuple[str, bytes]]) -> dict[str, str]:
    """Deliver each raw message into the INBOX now (as SMTP would: the provider's date is the
    time of arrival, whatever the Date header says); name -> provider id. The corpus's owner
    becomes ``address``, so that a forged owner address is this mailbox's own.

    Every item is delivered: a provider's intake takes any bytes (the empty message too), so
    the sandbox refuses none, and an error here (an item the sync would then never see) fails
    the test instead of being left out."""
    mb = sandbox.mailbox(address)
    ids = {}
    for name, raw in ((n, r.replace(OWNER.encode(), address.encode())) for n, r in items):
        stored = mb.add_message(
            raw, labels=["INBOX"], folder="inbox", internal_date_ms=sandbox.clock.now_ms()
        )
        ids[name] = stored.id
    assert len(ids) == len(items), "duplicate names in the corpus"
    return ids


def _synced_through_everything(
    tmp_path: Path, items: list[tuple[str, bytes]], microsoft: bool
) -> None:
    data, truth = H.scenario(seed=11, days=10)
    with H.rig(tmp_path, data, truth, microsoft=microsoft) as r:
        owner = truth["owners"][0]
        targets = [owner["accounts"]["google"]] + (
            [owner["accounts"]["microsoft"]] if microsoft else []
        )
        delivered = {a: deliver(r.sandbox, a, items) for a in targets}
        now = datetime.now(UTC).replace(microsecond=0)
        report = H.run_cycle(r, now)
        assert report.errors == [], report.errors
        with r.factory() as s:
            for address, ids in delivered.items():
                account = s.scalar(select(Account).where(Account.address == address))
                assert account is not None
                rows = s.scalars(select(Message).where(Message.account_id == account.id))
                stored = {_internal_id(m.provider_id, account.provider): m for m in rows}
                skipped = {
                    _internal_id(p, account.provider)
                    for p in s.scalars(
                        select(SkippedItem.provider_id).where(SkippedItem.account_id == account.id)
                    )
                }
                for name, pid in ids.items():
                    found = stored.get(pid)
                    assert found is not None or pid in skipped, (address, name, "lost")
                    # Graph hands out JSON it has already normalised (sentDateTime, from...),
                    # so only the Gmail path sees the raw defects.
                    raw_seen = account.provider == "google" and name != "huge-20mb-text"
                    if found is not None and raw_seen and name in EXPECTED_PROBLEM:
                        assert found.problems, (address, name, "no reason recorded")
                    if name == "forged-owner-from":  # arrived in the inbox: not the owner's
                        assert found is not None and found.direction == "in", address
                        assert any("owner's address" in p for p in found.problems), (
                            address,
                            found.problems,
                        )
        FIGURES["delivered"] = FIGURES.get("delivered", 0) + sum(len(v) for v in delivered.values())
        H.record(
            "bad_input_sync",
            delivered=sum(len(v) for v in delivered.values()),
            providers=len(delivered),
            lost=0,
            crashed=0,
        )
        assert H.duplicates(r.sandbox) == {}


def test_corpus_synced_analysed_and_planned_google(tmp_path: Path) -> None:
    _synced_through_everything(tmp_path, corpus(big=False), microsoft=False)


def test_corpus_synced_analysed_and_planned_microsoft(tmp_path: Path) -> None:
    _synced_through_everything(tmp_path, corpus(big=False), microsoft=True)


@pytest.mark.slow
def test_big_corpus_synced_both_providers(tmp_path: Path) -> None:
    _synced_through_everything(tmp_path, corpus(big=True), microsoft=True)
