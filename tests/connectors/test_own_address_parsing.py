"""The pure halves of the owner's-address calls: Gmail ``sendAs`` entries and Graph
``user`` bodies → :class:`OwnAddress` lists."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rapportd.agent.core.records import OwnAddress
from rapportd.connectors.google.identity import parse_send_as
from rapportd.connectors.microsoft.identity import parse_user


def test_send_as_keeps_primary_and_accepted_only() -> None:
    entries = [
        {"sendAsEmail": "Work@Corp.example", "verificationStatus": "accepted", "displayName": ""},
        {"sendAsEmail": "me@gmail.example", "isPrimary": True, "displayName": " Steve K "},
        {"sendAsEmail": "new@corp.example", "verificationStatus": "pending"},
        {"sendAsEmail": "odd@corp.example", "verificationStatus": "verificationStatusUnspecified"},
        {"sendAsEmail": "work@corp.example", "verificationStatus": "accepted"},  # again
        {"sendAsEmail": "", "isPrimary": False},
    ]
    assert parse_send_as(entries) == [
        OwnAddress("me@gmail.example", "gmail.sendAs", "Steve K", primary=True),
        OwnAddress("work@corp.example", "gmail.sendAs", ""),
    ]


def test_proxy_addresses_keep_smtp_entries_only() -> None:
    user = {
        "displayName": "Mia Wong",
        "mail": "Mia@Contoso.example",
        "userPrincipalName": "mia@contoso.onmicrosoft.example",
        "proxyAddresses": [
            "smtp:mia@contoso.onmicrosoft.example",
            "X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=mia",
            "SMTP:mia@contoso.example",
            "SIP:mia@contoso.example",
            "smtp:m.wong@contoso.example",
            "EUM:1234;phone-context=contoso.example",
        ],
    }
    found = parse_user(user)
    assert [(a.address, a.source, a.primary) for a in found] == [
        ("mia@contoso.example", "graph.proxyAddresses", True),
        ("mia@contoso.onmicrosoft.example", "graph.proxyAddresses", False),
        ("m.wong@contoso.example", "graph.proxyAddresses", False),
    ]
    assert {a.name for a in found} == {"Mia Wong"}


def test_without_proxy_addresses_mail_then_upn() -> None:
    assert parse_user({"mail": "a@b.example", "userPrincipalName": "x@b.example"}) == [
        OwnAddress("a@b.example", "graph.mail", primary=True)
    ]
    assert parse_user({"mail": None, "userPrincipalName": "Ann@Live.example"}) == [
        OwnAddress("ann@live.example", "graph.userPrincipalName", primary=True)
    ]
    # a guest's sign-in name is no mail address
    assert parse_user({"userPrincipalName": "ann_live.example#EXT#@contoso.example"}) == []
    assert parse_user({}) == []


def test_mail_is_primary_when_no_smtp_entry_is() -> None:
    user = {"mail": "a@b.example", "proxyAddresses": ["smtp:alias@b.example"]}
    assert [(a.address, a.primary) for a in parse_user(user)] == [
        ("a@b.example", True),
        ("alias@b.example", False),
    ]


local = st.from_regex(r"[a-z][a-z0-9.]{0,8}", fullmatch=True)
address = st.builds(lambda a, d: f"{a}@{d}.example", local, local)
entry = st.one_of(
    st.builds(lambda a: f"SMTP:{a}", address),
    st.builds(lambda a: f"smtp:{a.upper()}", address),
    st.builds(lambda a: f"SIP:{a}", address),
    st.builds(lambda a: f"X500:/o=Org/cn={a}", local),
    st.builds(lambda t: f"SMTP:{t}", st.text(max_size=6)),
    st.text(max_size=12),
)


def value(entry: str) -> str:
    """What an ``smtp:`` entry's address is, lower case ("" when it is no address)."""
    text = entry.split(":", 1)[1].strip().lower()
    return text if "@" in text and "#ext#" not in text else ""


@given(st.lists(entry, max_size=8), st.one_of(st.none(), address))
def test_proxy_address_properties(entries: list[str], mail: str | None) -> None:
    found = parse_user({"proxyAddresses": entries, "mail": mail})
    addresses = [a.address for a in found]
    smtp = {value(e) for e in entries if e[:5].lower() == "smtp:" and value(e)}
    assert len(addresses) == len(set(addresses))  # once each
    assert all(a == a.lower() and "@" in a for a in addresses)
    assert set(addresses) - smtp <= {mail}  # nothing but SMTP entries and ``mail``
    assert smtp <= set(addresses)
    primaries = [a.address for a in found if a.primary]
    assert len(primaries) <= 1 and (not primaries or found[0].primary)
    upper = [value(e) for e in entries if e.startswith("SMTP:") and value(e)]
    if upper:  # the first SMTP: entry is the primary
        assert primaries == [upper[0]]
    elif mail:  # else ``mail``
        assert primaries == [mail]
    else:
        assert primaries == []
