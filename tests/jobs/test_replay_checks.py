"""The replay's mechanical checks find what they say they find (and nothing on clean ones)."""

from __future__ import annotations

from typing import Any

from rapportd.agent.replay.checks import run_checks


def rec(
    rid: int,
    to: str,
    body: str,
    *,
    name: str = "",
    kind: str = "nudge",
    sentence: str = "Could you send the deck?",
    own_text: bool | None = True,
) -> dict[str, Any]:
    return {
        "id": rid,
        "kind": kind,
        "people": [{"name": name, "address": to}],
        "evidence": [{"message_id": f"<m{rid}@x>", "sentence": sentence, "own_text": own_text}],
        "draft": {"to": [{"name": name, "address": to}], "cc": [], "subject": "s", "body": body},
    }


def check(records: list[dict[str, Any]], **kw: Any) -> dict[str, list[int]]:
    found = run_checks(
        records,
        owner_addresses=kw.get("owner", {"ann@example.com", "a.n.n@example.com"}),
        display_names=kw.get("names", {"Robert Kean", "Bonnie Hale"}),
        signatures=kw.get("signatures", {}),
        outbox_writing=kw.get("writing", []),
    )
    return {name: [f.id for f in items] for name, items in found.found.items()}


def test_clean_suggestions_pass_every_check() -> None:
    found = check(
        [
            rec(1, "rkean@starband.net", "Hi Robert,\n\nAny news?", name="Robert Kean"),
            rec(2, "blh@pkns.com", "Hello Bonnie,\n\nThe letter?", sentence="The letter?"),
            rec(3, "zed@client.test", "Thanks for the meeting.", kind="thank_you", sentence=""),
        ]
    )
    assert all(ids == [] for ids in found.values()), found


def test_each_fault_is_found() -> None:
    found = check(
        [
            rec(1, "a.n.n@example.com", "Hi Robert,\n\nx"),  # the owner's own address
            rec(2, "blh@pkns.com", "Hi Blh,\n\nAny news?"),  # greeting from the local part
            rec(3, "x@client.test", "Hi Quentin,\n\nAny news?"),  # a name nobody has
            rec(4, "rkean@starband.net", "Hi Robert,\n\nAny news?"),
            rec(5, "rkean@starband.net", "Hi  Robert,\n\nany news?"),  # same body: duplicate
            rec(
                6,
                "rkean@starband.net",
                "Hi Robert,\n\nAnother text",
                sentence="could you send the deck?",  # same sentence, same people: duplicate
            ),
            rec(
                7, "y@client.test", "Hi Robert,\n\nz", sentence="Send it.", own_text=False
            ),  # split says quoted
            rec(
                8,
                "y@client.test",
                "Hi Robert,\n\nw",
                sentence='"Robert Kean" <rkean@x.net> on 07/07/2001 10:13:19 AM Please respond to',
            ),  # a Lotus Notes header line, whatever the split says
            rec(
                9, "y@client.test", "Hi Robert,\n\nv", sentence="Call me.", own_text=None
            ),  # not in the body
        ],
        writing=[41],
    )
    assert found["to_owner"] == [1]
    assert found["local_part_greetings"] == [2, 3]
    assert found["duplicates"] == [5, 6]
    assert found["quoted_outside_own_text"] == [7, 8]
    assert found["quoted_not_found"] == [9]
    assert found["outbox_writing"] == [41]


def test_a_name_from_a_signature_is_fine() -> None:
    found = check(
        [rec(1, "kevinscott@onlinemailbox.net", "Hi Kevin,\n\nx")],
        names=set(),
        signatures={"kevinscott@onlinemailbox.net": "regards,\nkevin scott\n"},
    )
    assert found["local_part_greetings"] == []
