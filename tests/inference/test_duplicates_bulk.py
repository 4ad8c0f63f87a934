"""The same message stored twice counts once; bulk mail is recognised by headers, content
and shape. Cases are written after real archives (Enron): copies filed in two folders, copies
whose Date slipped a time zone, daily news bulletins from a colleague, workflow notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rapportd.agent.inference.bulk import bulk_messages, content_signals, sender_signals
from rapportd.agent.inference.duplicates import duplicate_copies
from rapportd.agent.inference.types import Msg

T0 = datetime(2001, 7, 19, 8, 37, tzinfo=UTC)
OWNER = "owner@corp.test"


def m(i: int, at: datetime, **kw: object) -> Msg:
    base: dict[str, object] = {
        "sender": OWNER,
        "recipients": ("jeff@corp.test",),
        "direction": "out",
        "subject": "Re: California Update",
        "text": "Please include the desk heads on future updates.",
        "rfc822_id": f"<{i}@x>",
    }
    base.update(kw)
    return Msg(id=i, sent_at=at, **base)  # type: ignore[arg-type]


@given(st.permutations([11, 12, 13]))
def test_the_copy_kept_does_not_depend_on_the_order_rows_were_stored(ids: list[int]) -> None:
    # one message in three accounts (the owner cc'd on two of them): a sync that ran the
    # accounts in another order, or was cut by a fault, stores them under other row ids
    copies = [
        m(i, T0, rfc822_id="<same@x>", account_id=a) for i, a in zip(ids, (3, 1, 2), strict=True)
    ]
    kept_for = duplicate_copies(copies)
    kept = next(c for c in copies if c.id not in kept_for)
    assert kept.account_id == 1
    assert set(kept_for.values()) == {kept.id}


def test_copies_minutes_or_a_zone_slip_apart_count_once() -> None:
    msgs = [
        m(1, T0),
        m(2, T0 + timedelta(hours=10)),  # the same minute, ten hours later: a zone slip
        m(3, T0 + timedelta(minutes=4)),
        m(4, T0 + timedelta(hours=10, minutes=17)),  # not a whole number of half hours
        m(5, T0 + timedelta(hours=2), text="Another note."),
        m(6, T0 + timedelta(days=3)),  # days later: sent again on purpose
        m(7, T0 + timedelta(hours=5), rfc822_id="<1@x>", text="changed"),  # same Message-ID
    ]
    assert duplicate_copies(msgs) == {2: 1, 3: 1, 7: 1}


@given(st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=30))
def test_duplicates_never_chain_and_keep_the_earliest(minutes: list[int]) -> None:
    msgs = [m(i, T0 + timedelta(minutes=x)) for i, x in enumerate(minutes)]
    copies = duplicate_copies(msgs)
    by_id = {x.id: x for x in msgs}
    for copy, kept in copies.items():
        assert kept not in copies
        assert by_id[kept].sent_at <= by_id[copy].sent_at


def test_content_signals_on_notices() -> None:
    assert content_signals("Your expense report has been submitted for your approval.")
    assert content_signals("This is an automated message. Please do not reply to this email.")
    assert content_signals("You have a new voicemail from 713-555-0101.")
    assert content_signals("To unsubscribe, click here.")
    assert not content_signals("Could you review the draft by Friday? Thanks, Jeff")


def test_bulletins_broadcasts_and_notices() -> None:
    day = timedelta(days=1)
    msgs = [
        # a colleague's daily news digest, never answered: a bulletin
        *(
            m(
                10 + i,
                T0 + i * day,
                sender="miyung@corp.test",
                recipients=(OWNER,),
                direction="in",
                subject="Energy Issues",
                text="Articles of the day ...",
                thread_id=f"e{i}",
            )
            for i in range(4)
        ),
        # a numbered update the owner answers in most issues: a conversation
        *(
            m(
                20 + i,
                T0 + i * day,
                sender="jeff@corp.test",
                recipients=(OWNER,),
                direction="in",
                subject=f"California Update 07.{18 + i}.01",
                text="Update ...",
                thread_id=f"c{i}",
            )
            for i in range(3)
        ),
        *(
            m(
                30 + i,
                T0 + i * day + timedelta(hours=1),
                recipients=("jeff@corp.test",),
                subject=f"Re: California Update 07.{18 + i}.01",
                thread_id=f"c{i}",
            )
            for i in range(2)
        ),
        m(
            40,
            T0,
            sender="ceo@corp.test",
            direction="in",
            recipients=(*(f"p{i}@corp.test" for i in range(20)), OWNER),
            subject="All hands",
            text="See you all on Friday.",
        ),
        m(
            41,
            T0,
            sender="concur@corp.test",
            direction="in",
            recipients=(OWNER,),
            subject="Expense report",
            text="An expense report requires your approval. Please review.",
        ),
        m(
            42,
            T0,
            sender="ann@client.test",
            direction="in",
            recipients=(OWNER,),
            subject="Quote",
            text="Could you send the quote by Friday?",
        ),
    ]
    flagged = bulk_messages(msgs, [OWNER])
    assert all(10 + i in flagged and "bulletin" in flagged[10 + i][0] for i in range(4))
    assert not any(20 + i in flagged for i in range(3))
    assert flagged[40] == ["sent to 21 people"]
    assert sender_signals(flagged[40]) == []  # its author is a person all the same
    assert flagged[41] == ["workflow notification"]
    assert 42 not in flagged


def test_a_copy_that_kept_the_sign_off_is_the_same_message() -> None:
    body = "Please review and let me know of any revisions. " * 3
    msgs = [
        m(1, T0, text=body),
        m(2, T0 + timedelta(hours=10), text=body + "\nThank you. Max"),
        m(3, T0 + timedelta(hours=10, minutes=1), text=body[:40]),  # mostly different
    ]
    assert duplicate_copies(msgs) == {2: 1}
