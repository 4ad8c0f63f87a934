"""The cast of a generated scenario: one owner and the ~100 people and senders in their year.

Everything here is drawn from a ``random.Random`` handed in by the caller, so a seed gives
the same cast every time. Names mix several languages on purpose (accents, CJK, Nordic
letters) because real address books do, and parsers break on them.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field

FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Farah",
    "Greta",
    "Hiro",
    "Inès",
    "Jonas",
    "Kwame",
    "Lena",
    "Mateo",
    "Nadia",
    "Oscar",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tove",
    "Uma",
    "Viktor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoë",
    "José",
    "Søren",
    "Małgorzata",
    "Björn",
    "Aoife",
    "Dmitri",
    "Émile",
    "Fatima",
    "Giulia",
    "Hannah",
    "Ingrid",
    "Javier",
    "Kenji",
    "Laila",
    "Miguel",
    "Noor",
    "Olga",
    "Pablo",
    "Ravi",
    "Sofia",
    "Tomás",
    "Ulrike",
    "Valeria",
    "William",
    "Amara",
    "Bruno",
    "Camille",
    "Diego",
    "Eva",
    "Felix",
    "Grace",
    "Henrik",
]
LAST_NAMES = [
    "Åkesson",
    "Núñez",
    "Duarte",
    "Okafor",
    "Schmidt",
    "Tanaka",
    "Rossi",
    "Kowalski",
    "Müller",
    "Haddad",
    "Nguyen",
    "Fernández",
    "O'Brien",
    "Lindqvist",
    "Patel",
    "Dubois",
    "Yılmaz",
    "Ivanova",
    "Mensah",
    "García",
    "Johansson",
    "Kim",
    "Silva",
    "Moreau",
    "Novak",
    "Brennan",
    "Costa",
    "Berg",
    "Chen",
    "Adeyemi",
    "Larsen",
    "Ricci",
    "Sato",
    "Weber",
    "Zhou",
    "Lopez",
]
CJK_NAMES = [
    ("李雷", "li.lei"),
    ("韩梅梅", "han.meimei"),
    ("王芳", "wang.fang"),
    ("山田太郎", "taro.yamada"),
    ("김민준", "minjun.kim"),
]
COMPANIES = [
    "acme-logistics",
    "blue-harbor",
    "cedar-health",
    "delta-foods",
    "everest-capital",
    "fjord-analytics",
    "granite-labs",
    "helios-energy",
    "ivory-media",
    "juniper-retail",
    "kestrel-air",
    "lumen-bank",
    "meridian-law",
    "nimbus-cloud",
    "orchid-pharma",
    "pioneer-build",
    "quartz-design",
    "riverstone",
    "sable-insure",
    "tundra-tech",
]
VENDORS = [
    "printworks",
    "officegear",
    "cloudhost",
    "legal-partners",
    "travelco",
    "cateringplus",
    "it-support",
    "payroll-pro",
    "design-studio",
    "translation-hub",
]
TITLES = {
    "client": [
        "Head of Procurement",
        "CTO",
        "Operations Director",
        "VP Marketing",
        "Founder & CEO",
        "Product Lead",
        "Finance Manager",
    ],
    "colleague": [
        "Product Manager",
        "Senior Engineer",
        "Sales Director",
        "Designer",
        "Account Executive",
        "Data Analyst",
        "HR Business Partner",
        "Team Lead",
    ],
    "vendor": ["Account Manager", "Customer Success", "Sales Representative", "Partner"],
}
TIMEZONES = [
    "Europe/Paris",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Shanghai",
    "Europe/Stockholm",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Europe/Berlin",
    "Africa/Lagos",
]
FREEMAIL = ["gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com"]
NEWSLETTERS = [
    ("The Morning Brief", "news@morningbrief.example", "morningbrief.example", 7),
    ("Product Weekly", "hello@productweekly.example", "productweekly.example", 7),
    ("Design Digest", "digest@designdigest.example", "designdigest.example", 14),
    ("Local Food Co-op", "newsletter@foodcoop.example", "foodcoop.example", 30),
    ("Runners Club", "club@runners.example", "runners.example", 14),
    ("Investor Notes", "notes@investornotes.example", "investornotes.example", 7),
    ("Bookshop Picks", "picks@bookshop.example", "bookshop.example", 30),
    ("Cloud Changelog", "changelog@nimbus-cloud.example", "nimbus-cloud.example", 7),
    ("City Events", "events@cityguide.example", "cityguide.example", 7),
    ("Travel Deals", "deals@travelco.example", "travelco.example", 3),
]
NOREPLY = [
    ("GitHub", "notifications@github.example", 4),
    ("Bank Alerts", "no-reply@lumen-bank.example", 10),
    ("Calendar", "calendar-notification@calendar.example", 9),
    ("Shipping Updates", "noreply@parcels.example", 12),
    ("HR Portal", "no-reply@hr-portal.example", 21),
    ("Expense Bot", "donotreply@expenses.example", 8),
    ("Airline", "noreply@airline.example", 30),
    ("Cloud Billing", "billing-noreply@nimbus-cloud.example", 30),
]
LISTS = [
    ("python-users", "python-users@lists.example.org", 3),
    ("city-cycling", "city-cycling@groups.example.org", 6),
    ("product-guild", "product-guild@lists.example.org", 5),
    ("parents-school", "parents-school@groups.example.org", 8),
]


@dataclass
class Rhythm:
    kind: str  # weekly | biweekly | monthly | quarterly | irregular | none
    mean_gap_days: float


@dataclass
class Person:
    key: str
    name: str
    emails: list[str]
    category: str  # client|colleague|vendor|friend|family|newsletter|noreply|list
    timezone: str
    title: str = ""
    company: str = ""
    rhythm: Rhythm = field(default_factory=lambda: Rhythm("irregular", 30.0))
    fading: bool = False
    fade_after_days: int | None = None  # index of the day after which contact stops
    accounts: list[str] = field(default_factory=list)  # "google", "microsoft"
    automated: bool = False
    internal: bool = False
    html_only: bool = False
    outlook_quoting: bool = False
    list_id: str = ""

    @property
    def email(self) -> str:
        return self.emails[0]


@dataclass
class Owner:
    key: str
    name: str
    first: str
    gmail: str
    work: str
    aliases: list[str]
    org_domain: str
    timezone: str
    title: str


def ascii_slug(text: str) -> str:
    """``Zoë Åkesson`` -> ``zoe.akesson``: how people turn names into mailbox names."""
    folded = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("ł", "l"))
    folded = folded.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", ".", folded).strip(".")


def make_owner(rng: random.Random, index: int) -> Owner:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    slug = ascii_slug(f"{first} {last}")
    org = f"{rng.choice(['northwind', 'contoso', 'fabrikam', 'tailspin', 'adatum'])}{index}.example"
    return Owner(
        key=ascii_slug(first) + (str(index) if index else ""),
        name=f"{first} {last}",
        first=first,
        gmail=f"{slug}{index or ''}@gmail.com",
        work=f"{slug}@{org}",
        aliases=[f"{ascii_slug(first)}@{org}"],
        org_domain=org,
        timezone=rng.choice(["Europe/Paris", "America/New_York", "Europe/London", "Asia/Tokyo"]),
        title=rng.choice(["Account Director", "Head of Partnerships", "Consultant"]),
    )


def _rhythm(rng: random.Random, category: str) -> Rhythm:
    weights = {
        "colleague": [("weekly", 35), ("biweekly", 25), ("monthly", 25), ("irregular", 15)],
        "client": [
            ("weekly", 10),
            ("biweekly", 25),
            ("monthly", 35),
            ("quarterly", 15),
            ("irregular", 15),
        ],
        "vendor": [("monthly", 40), ("quarterly", 40), ("irregular", 20)],
        "friend": [("biweekly", 25), ("monthly", 40), ("quarterly", 15), ("irregular", 20)],
        "family": [("weekly", 50), ("biweekly", 30), ("irregular", 20)],
    }[category]
    kind = rng.choices([k for k, _ in weights], [w for _, w in weights])[0]
    gap = {"weekly": 7, "biweekly": 14, "monthly": 30, "quarterly": 91}.get(kind)
    mean = float(gap) if gap else float(rng.choice([20, 30, 45]))
    return Rhythm(kind, mean)


def _person(rng: random.Random, owner: Owner, category: str, n: int, used: set[str]) -> Person:
    if rng.random() < 0.06:
        name, slug = rng.choice(CJK_NAMES)
    else:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        slug = ascii_slug(name)
    if category == "colleague":
        domain, company = owner.org_domain, owner.org_domain.split(".")[0].rstrip("0123456789")
    elif category == "client":
        company = COMPANIES[n % len(COMPANIES)]
        domain = f"{company}.example"
    elif category == "vendor":
        company = VENDORS[n % len(VENDORS)]
        domain = f"{company}.example"
    else:
        company, domain = "", rng.choice(FREEMAIL)
    address = f"{slug}@{domain}"
    while address in used:
        address = f"{slug}{rng.randint(2, 99)}@{domain}"
    used.add(address)
    emails = [address]
    if category in ("client", "friend") and rng.random() < 0.12:
        alt = f"{slug.replace('.', '')}{rng.randint(1, 99)}@{rng.choice(FREEMAIL)}"
        if alt not in used:
            used.add(alt)
            emails.append(alt)
    rhythm = _rhythm(rng, category)
    tz = (
        owner.timezone
        if category in ("colleague", "family") and rng.random() < 0.7
        else (rng.choice(TIMEZONES))
    )
    if category in ("friend", "family"):
        accounts = ["google"]
    elif category == "colleague":
        accounts = ["microsoft"]
    else:
        accounts = ["microsoft"] if rng.random() < 0.7 else ["google"]
    if rng.random() < 0.12:
        accounts = ["google", "microsoft"]
    return Person(
        key=f"{category}-{n}",
        name=name,
        emails=emails,
        category=category,
        timezone=tz,
        title=rng.choice(TITLES.get(category, [""])),
        company=company,
        rhythm=rhythm,
        accounts=accounts,
        internal=category == "colleague",
        html_only=rng.random() < 0.08,
        outlook_quoting=category in ("client", "colleague", "vendor") and rng.random() < 0.5,
    )


def make_cast(rng: random.Random, owner: Owner, days: int) -> list[Person]:
    """About 100 senders: people (with rhythms, some fading) plus bulk and automated mail."""
    used: set[str] = {owner.gmail, owner.work, *owner.aliases}
    counts = {"client": 22, "colleague": 26, "vendor": 10, "friend": 16, "family": 7}
    people: list[Person] = []
    for category, count in counts.items():
        for n in range(count):
            person = _person(rng, owner, category, n, used)
            # Fading: was regular, then stopped somewhere in the last third-to-half of the year.
            if person.rhythm.kind in ("weekly", "biweekly", "monthly") and rng.random() < 0.12:
                person.fading = True
                person.fade_after_days = int(days * rng.uniform(0.45, 0.7))
            people.append(person)
    for i, (name, address, domain, gap) in enumerate(NEWSLETTERS):
        people.append(
            Person(
                key=f"newsletter-{i}",
                name=name,
                emails=[address],
                category="newsletter",
                timezone="America/New_York",
                rhythm=Rhythm("weekly" if gap <= 7 else "monthly", gap),
                accounts=["google"] if i % 3 else ["microsoft"],
                automated=True,
                html_only=i % 2 == 0,
                list_id=f"<{domain.split('.')[0]}.{domain}>",
            )
        )
    for i, (name, address, gap) in enumerate(NOREPLY):
        people.append(
            Person(
                key=f"noreply-{i}",
                name=name,
                emails=[address],
                category="noreply",
                timezone="UTC",
                rhythm=Rhythm("irregular", gap),
                accounts=["microsoft"] if i % 2 else ["google"],
                automated=True,
            )
        )
    for i, (name, address, gap) in enumerate(LISTS):
        people.append(
            Person(
                key=f"list-{i}",
                name=name,
                emails=[address],
                category="list",
                timezone="UTC",
                rhythm=Rhythm("irregular", gap),
                accounts=["google"],
                automated=True,
                list_id=f"<{address.replace('@', '.')}>",
            )
        )
    return people
