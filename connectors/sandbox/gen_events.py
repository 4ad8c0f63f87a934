"""The owner's calendars: recurring internal meetings (weekly standup, monthly all-hands,
a 1:1), meetings with clients (some declined, some cancelled), and personal plans.

Work meetings go to the Outlook account, personal ones to the Google account. Events run
from the start of the window to a few weeks after "now" (what is already planned).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rapportd.connectors.sandbox.gen_people import Person
from rapportd.connectors.sandbox.gen_world import World, zone


def _at(w: World, day: datetime, hour: int, minute: int = 0) -> datetime:
    loc = day.astimezone(zone(w.owner.timezone))
    return loc.replace(hour=hour, minute=minute, second=0, microsecond=0)


def _att(email: str, name: str, response: str) -> dict[str, str]:
    return {"email": email, "name": name, "response": response}


def _add(
    w: World,
    provider: str,
    summary: str,
    start: datetime,
    minutes: int,
    organizer: str,
    attendees: list[dict[str, str]],
    *,
    status: str = "confirmed",
    series_id: str = "",
    all_day: bool = False,
    description: str = "",
) -> None:
    event_id = w.new_id()
    end = start + (timedelta(days=1) if all_day else timedelta(minutes=minutes))
    event: dict[str, Any] = {
        "account": w.account_address(provider),
        "id": event_id,
        "summary": summary,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": w.owner.timezone,
        "all_day": all_day,
        "organizer": organizer,
        "attendees": attendees,
        "status": status,
    }
    if series_id:
        event["series_id"] = series_id
    if description:
        event["description"] = description
    w.events.append(event)
    mine = {w.owner.gmail, w.owner.work, *w.owner.aliases}
    others = [a["email"] for a in attendees if a["email"] not in mine]
    own = next((a["response"] for a in attendees if a["email"] in mine), "accepted")
    w.meetings.append(
        {
            "event_id": event_id,
            "account": event["account"],
            "summary": summary,
            "start": event["start"],
            "external": any(not e.endswith("@" + w.owner.org_domain) for e in others),
            "internal": any(e.endswith("@" + w.owner.org_domain) for e in others),
            "recurring": bool(series_id),
            "declined": own == "declined",
            "cancelled": status == "cancelled",
            "attendees": others,
        }
    )


def _weekly(w: World, first: datetime, step_days: int) -> list[datetime]:
    out, t = [], first
    while t < w.horizon_end:
        out.append(t)
        t = t + timedelta(days=step_days)
    return out


def recurring_meetings(w: World, colleagues: list[Person]) -> None:
    rng, o = w.rng, w.owner
    me = _att(o.work, o.name, "accepted")
    lead, manager = colleagues[0], colleagues[1]
    team = colleagues[2:8]
    monday = w.start + timedelta(days=(7 - w.start.weekday()) % 7)
    series = w.new_id(64)
    for day in _weekly(w, monday, 7):
        status = "cancelled" if rng.random() < 0.04 else "confirmed"
        atts = [
            me,
            _att(lead.email, lead.name, "accepted"),
            *[_att(p.email, p.name, rng.choice(["accepted"] * 5 + ["tentative"])) for p in team],
        ]
        _add(
            w,
            "microsoft",
            "Team standup",
            _at(w, day, 9, 30),
            15,
            lead.email,
            atts,
            status=status,
            series_id=series,
        )
    series = w.new_id(64)
    tuesday = monday + timedelta(days=1)
    for day in _weekly(w, tuesday, 14):
        _add(
            w,
            "microsoft",
            f"1:1 {o.first} / {manager.name.split()[0]}",
            _at(w, day, 14),
            30,
            manager.email,
            [me, _att(manager.email, manager.name, "accepted")],
            status="cancelled" if rng.random() < 0.08 else "confirmed",
            series_id=series,
        )
    series = w.new_id(64)
    staff = [_att(p.email, p.name, "accepted") for p in colleagues]
    staff += [
        _att(f"employee{n}@{o.org_domain}", f"Employee {n}", "needsAction") for n in range(30)
    ]
    day = monday + timedelta(days=3)
    while day < w.horizon_end:
        if day.day <= 7:
            response = "declined" if rng.random() < 0.15 else "accepted"
            _add(
                w,
                "microsoft",
                "All-hands",
                _at(w, day, 16),
                60,
                f"ceo@{o.org_domain}",
                [_att(o.work, o.name, response), *staff],
                series_id=series,
                description="Monthly company update. Questions welcome.",
            )
        day += timedelta(days=7)


def client_meetings(w: World, clients: list[Person], colleagues: list[Person]) -> None:
    rng, o = w.rng, w.owner
    for p in clients:
        gap = max(21.0, p.rhythm.mean_gap_days * 2.5)
        end = w.horizon_end
        if p.fading and p.fade_after_days is not None:
            end = min(end, w.start + timedelta(days=p.fade_after_days))
        t = w.start + timedelta(days=rng.uniform(0, gap))
        while t < end:
            start = w.local(t, o.timezone, work=True).replace(minute=rng.choice([0, 30]), second=0)
            own = rng.choices(["accepted", "tentative", "declined", "needsAction"], [80, 8, 7, 5])[
                0
            ]
            organizer = o.work if rng.random() < 0.5 else p.email
            if organizer == o.work:
                own = "accepted"
            atts = [_att(o.work, o.name, own), _att(p.email, p.name, "accepted")]
            if rng.random() < 0.35:
                c = rng.choice(colleagues)
                atts.append(_att(c.email, c.name, "accepted"))
            company = p.company.replace("-", " ").title()
            summary = rng.choice(
                [
                    f"{company} / {o.org_domain.split('.')[0].rstrip('0123456789').title()} sync",
                    f"Call with {p.name}",
                    f"{company}: quarterly review",
                    f"Demo for {company}",
                    f"Lunch with {p.name.split()[0]}",
                ]
            )
            status = "cancelled" if rng.random() < 0.06 else "confirmed"
            _add(
                w,
                "microsoft",
                summary,
                start,
                rng.choice([30, 45, 60]),
                organizer,
                atts,
                status=status,
            )
            t += timedelta(days=gap * rng.uniform(0.7, 1.3))


def personal_events(w: World, friends: list[Person], family: list[Person]) -> None:
    rng, o = w.rng, w.owner
    me = _att(o.gmail, o.name, "accepted")
    t = w.start
    while t < w.horizon_end:
        t += timedelta(days=rng.expovariate(1 / 12))
        friend = rng.choice(friends)
        start = _at(w, t, 19, 30)
        if start >= w.horizon_end:
            break
        _add(
            w,
            "google",
            rng.choice(
                [
                    f"Dinner with {friend.name.split()[0]}",
                    "Drinks",
                    "Climbing",
                    f"Coffee with {friend.name.split()[0]}",
                ]
            ),
            start,
            120,
            o.gmail,
            [
                me,
                _att(friend.email, friend.name, rng.choice(["accepted", "accepted", "tentative"])),
            ],
            status="cancelled" if rng.random() < 0.05 else "confirmed",
        )
    for person in family:
        birthday = w.start + timedelta(days=rng.randint(0, 364))
        day = _at(w, birthday, 0)
        _add(w, "google", f"{person.name.split()[0]}'s birthday", day, 0, o.gmail, [], all_day=True)
    for _ in range(4):
        day = _at(w, w.start + timedelta(days=rng.randint(0, 380)), 8, 30)
        if day < w.horizon_end:
            _add(
                w, "google", rng.choice(["Dentist", "Car service", "Doctor"]), day, 45, o.gmail, []
            )
