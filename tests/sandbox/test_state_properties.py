"""Property tests of the mailbox model: replaying the change log from any point converges
on the mailbox's real contents (what a Gmail delta sync relies on)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.connectors.sandbox.state import Sandbox

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["add", "label", "unlabel", "delete", "draft", "edit", "send", "drop_draft"]
        ),
        st.integers(0, 50),
    ),
    min_size=1,
    max_size=40,
)


def apply(sb: Sandbox, op: str, n: int) -> None:
    mb = sb.mailbox("ana@example.com")
    ids = sorted(mb.messages)
    drafts = sorted(mb.drafts)
    if op == "add":
        mb.add_message(f"From: x{n}@y.org\r\nSubject: s{n}\r\n\r\nbody {n}".encode())
    elif op in ("label", "unlabel", "delete") and ids:
        mid = ids[n % len(ids)]
        if mid in {d.message_id for d in mb.drafts.values()}:
            return
        if op == "label":
            mb.modify_labels(mid, add=["STARRED"])
        elif op == "unlabel":
            mb.modify_labels(mid, remove=["INBOX"])
        else:
            mb.delete_message(mid)
    elif op == "draft":
        mb.create_draft(f"Subject: d{n}\r\n\r\ndraft".encode())
    elif drafts:
        did = drafts[n % len(drafts)]
        if op == "edit":
            mb.update_draft(did, f"Subject: e{n}\r\n\r\nedited".encode())
        elif op == "send":
            mb.send_draft(did)
        else:
            mb.delete_draft(did)


@settings(max_examples=60, deadline=None)
@given(before=OPS, after=OPS)
def test_history_replay_converges(before: list[Any], after: list[Any]) -> None:
    sb = Sandbox(ticking=False)
    sb.add_account("google", "ana@example.com")
    mb = sb.mailbox("ana@example.com")
    for op, n in before:
        apply(sb, op, n)
    cursor = mb.history_id
    replica = {mid: set(m.labels) for mid, m in mb.messages.items()}
    for op, n in after:
        apply(sb, op, n)
    for rec in mb.changes_since(cursor):
        if rec.kind == "messageAdded":
            replica[rec.message_id] = set(rec.label_ids)
        elif rec.kind == "messageDeleted":
            replica.pop(rec.message_id, None)
        elif rec.kind == "labelAdded" and rec.message_id in replica:
            replica[rec.message_id] |= set(rec.label_ids)
        elif rec.kind == "labelRemoved" and rec.message_id in replica:
            replica[rec.message_id] -= set(rec.label_ids)
    assert replica == {mid: m.labels for mid, m in mb.messages.items()}
    ids = [r.id for r in mb.history]
    assert ids == sorted(set(ids))
    assert all(d.message_id in mb.messages for d in mb.drafts.values())
    assert all("DRAFT" in mb.messages[d.message_id].labels for d in mb.drafts.values())
