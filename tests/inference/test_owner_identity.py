"""The owner's addresses on real-looking mail: accounts, send-as, sent mail, look-alikes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapportd.agent.inference.owner_identity import infer_owner_identity, name_forms
from rapportd.agent.inference.types import Msg

T0 = datetime(2001, 7, 1, 9, tzinfo=UTC)
OWNER = "steven.kean@corp.test"


def m(i: int, sender: str, to: list[str], *, out: bool = False, **kw: object) -> Msg:
    return Msg(
        id=i,
        sent_at=T0 + timedelta(hours=i),
        sender=sender,
        recipients=tuple(to),
        to=tuple(to),
        direction="out" if out else "in",
        **kw,  # type: ignore[arg-type]
    )


def test_name_forms() -> None:
    forms = name_forms("Steven J. Kean")
    assert {"skean", "steven.kean", "kean", "stevenkean"} <= forms
    assert name_forms("Kean") == set()


def test_sources_each_with_its_reason() -> None:
    msgs = [
        # filed as sent by the provider, from another address of the owner
        m(1, "j..kean@corp.test", ["kevin@mail.test"], out=True, sender_name="Kean, Steven J."),
        m(2, OWNER, ["a@corp.test"], out=True, sender_name="Steven J Kean"),
        # a look-alike carrying the owner's name
        m(
            3,
            "a@corp.test",
            ["skean@corp.test"],
            recipient_names=(("skean@corp.test", "Steve Kean"),),
        ),
        # a look-alike spelling the name, and mail addressed only to it reached the mailbox
        m(4, "b@corp.test", ["steven.j.kean@corp.test"]),
        # spells a name but no evidence it delivers to the owner
        m(5, OWNER, ["kean@corp.test", "x@corp.test"], out=True),
        # the same local part at a public domain is somebody else's mailbox
        m(6, "c@corp.test", ["skean@gmail.com"]),
        # a colleague with another name
        m(7, "susan.mara@corp.test", [OWNER], sender_name="Susan J Mara"),
    ]
    ident = infer_owner_identity(
        msgs, accounts=[OWNER], provider_aliases=["steve@corp.test"], display_name=""
    )
    assert ident.reasons[OWNER] == ["your account"]
    assert ident.reasons["steve@corp.test"] == ["a send-as address of your account"]
    assert ident.reasons["j..kean@corp.test"] == ["you sent 1 message from it"]
    assert "carries your name" in ident.reasons["skean@corp.test"][0]
    assert "reached your mailbox" in ident.reasons["steven.j.kean@corp.test"][0]
    for other in ("kean@corp.test", "skean@gmail.com", "susan.mara@corp.test", "a@corp.test"):
        assert other not in ident.addresses
    assert ident.name in {"Steven J. Kean", "Steven J Kean"}


def test_the_owners_decisions_win() -> None:
    msgs = [
        m(
            1,
            "a@corp.test",
            ["skean@corp.test"],
            recipient_names=(("skean@corp.test", "Steven Kean"),),
        ),
        m(2, OWNER, ["a@corp.test"], out=True, sender_name="Steven Kean"),
    ]
    ident = infer_owner_identity(
        msgs, accounts=[OWNER], mine=["home@mail.test"], not_mine=["skean@corp.test"]
    )
    assert "skean@corp.test" not in ident.addresses
    assert ident.reasons["home@mail.test"] == ["you said it is yours"]
