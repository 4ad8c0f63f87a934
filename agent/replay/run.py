"""``rapportd replay``: the whole product on a mail archive, as of a date.

It holds the process's clock at ``--as-of`` (ticking on from there), reads the archive
(:mod:`rapportd.connectors.sandbox.archive`) into a sandbox account of the owner, serves it
with the local provider sandbox (in this process, sharing the clock, so the provider and
rapportd agree on "now"), connects the account through the real OAuth flow, then runs the
product's own tasks (:mod:`rapportd.jobs.tasks`, the functions the dramatiq actors call):
sync with the connector, analysis, planning and write-back through the outbox, until no
work is left. Sync windows (``backfill_days``, ``text_days``) count back from the held
clock, so a 2001 archive is synced and its text kept.

Differences from ``rapportd run``, on purpose: the work queue is a plain in-process list
drained by one thread (deterministic, and "done" is exact), not dramatiq with a
scheduler; quiet hours are off for the owner (as in the demo) and the daily draft cap is
lifted, so every suggestion is written now and can be read; neither the sandbox nor
rapportd throttles itself to Gmail's per-minute quota. Nothing else differs.

The store is a fresh SQLite file in ``OUT/store``; ``OUT/suggestions.jsonl`` and
``OUT/report.html`` are written by :mod:`rapportd.agent.replay.report`.
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import func, select

from rapportd.agent.core import clock
from rapportd.agent.core.errors import BadData
from rapportd.agent.core.logs import configure_logging
from rapportd.agent.core.settings import Settings, get_settings
from rapportd.agent.demo.run import demo_settings
from rapportd.agent.demo.world import add_owner, connect_with_oauth
from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import Account
from rapportd.jobs import actors, tasks
from rapportd.jobs.runtime import Parts, Runtime

PROVIDERS = ("google", "microsoft")
# Zones tried when guessing the owner's from the offsets of their sent mail (first wins a tie).
ZONES = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "America/Anchorage", "Pacific/Honolulu", "America/Sao_Paulo",
    "America/Mexico_City", "America/Toronto", "Europe/London", "Europe/Paris", "Europe/Berlin",
    "Europe/Madrid", "Europe/Helsinki", "Europe/Moscow", "Africa/Johannesburg", "Asia/Dubai",
    "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney",
    "Pacific/Auckland", "UTC",
)  # fmt: skip
MAX_TASKS = 10_000
# The local sandbox is not Google: neither it nor rapportd throttles the replay to Gmail's
# per-minute quota (a 1,000-message backfill would otherwise wait a minute for it).
REPLAY_QUOTA = 10_000_000  # a guard against a loop of work that keeps enqueueing itself


@dataclass
class ReplayOptions:
    archives: Sequence[Path]
    owner: str
    as_of: datetime
    out: Path
    provider: str = "google"
    aliases: Sequence[str] = ()
    timezone: str = ""  # empty: guessed from the owner's sent mail
    org_domains: Sequence[str] | None = None  # None: as rapportd decides without settings
    name: str = ""  # the owner's display name; empty: from their sent mail
    # Addresses the caller knows are the owner's (a benchmark's truth): counted by the
    # "to_owner" check besides the ones rapportd learned. Never given to rapportd.
    owner_truth: Sequence[str] = ()


@dataclass
class ReplayResult:
    out: Path
    owner: str
    as_of: datetime
    provider: str
    timezone: str
    loaded: int = 0
    loaded_sent: int = 0
    names_filled: int = 0
    calendars: int = 0
    archive_skips: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    sync_skips: list[tuple[str, str]] = field(default_factory=list)  # (provider id, reason)
    message_problems: Counter[str] = field(default_factory=Counter)
    tasks: Counter[str] = field(default_factory=Counter)  # "actor:outcome" -> count
    task_errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    suggestions: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    outbox: Counter[str] = field(default_factory=Counter)  # "op:state" -> count
    owner_id: int = 0
    account_id: int = 0
    records: list[dict[str, Any]] = field(default_factory=list)
    checks: Any = None  # replay_checks.Checks
    learned_owner_addresses: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


def guess_timezone(pairs: Iterable[tuple[datetime, int]], default: str = "UTC") -> str:
    """The zone whose offset on each sending date best matches the offsets the owner's own
    Date headers carry (``(instant, offset minutes)`` pairs); ``default`` with none."""
    pairs = list(pairs)
    if not pairs:
        return default
    best, best_hits = default, 0
    for name in ZONES:
        zone = ZoneInfo(name)
        hits = 0
        for when, minutes in pairs:
            offset = when.astimezone(zone).utcoffset()
            if offset is not None and int(offset.total_seconds() // 60) == minutes:
                hits += 1
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def _sent_offsets(raws: Iterable[bytes]) -> list[tuple[datetime, int]]:
    from rapportd.connectors.mime import parse_date
    from rapportd.connectors.sandbox.mime import parse_headers

    out = []
    for raw in raws:
        date = next((v for k, v in parse_headers(raw) if k.lower() == "date"), "")
        when, minutes = parse_date(date)
        if when is not None and minutes is not None:
            out.append((when, minutes))
    return out


def _owner_name(raws: Iterable[bytes], owner: str) -> str:
    from email.utils import getaddresses

    from rapportd.connectors.sandbox.mime import parse_headers

    names: Counter[str] = Counter()
    for raw in raws:
        value = next((v for k, v in parse_headers(raw) if k.lower() == "from"), "")
        for name, addr in getaddresses([value]):
            if addr.lower() == owner.lower() and name.strip():
                names[name.strip()] += 1
    return names.most_common(1)[0][0] if names else ""


class _Bars:
    """The terminal's progress bars, one per stage."""

    def __init__(self, console: Console) -> None:
        columns: list[Any] = [
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ]
        self.progress = Progress(*columns, console=console, transient=False)
        self.ids: dict[str, TaskID] = {}

    def __enter__(self) -> _Bars:
        self.progress.__enter__()
        for name in ("load", "sync", "analysis", "plan", "write-back"):
            self.ids[name] = self.progress.add_task(name, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def update(self, name: str, **values: Any) -> None:
        self.progress.update(self.ids[name], **values)

    def advance(self, name: str, by: float = 1) -> None:
        self.progress.advance(self.ids[name], by)


STAGE = {
    tasks.SYNC: "sync",
    tasks.ANALYSE: "analysis",
    tasks.PLAN: "plan",
    tasks.WRITE: "write-back",
}


def run_replay(options: ReplayOptions, *, console: Console | None = None) -> ReplayResult:
    """Replay the archive (see the module docstring); raises BadData on a bad archive path
    or option, never on bad content (that is skipped and recorded)."""
    from rapportd.connectors.sandbox.archive import load_archive, read_archive
    from rapportd.connectors.sandbox.server import start_sandbox
    from rapportd.connectors.sandbox.state import Sandbox

    console = console or Console()
    if options.provider not in PROVIDERS:
        raise BadData(f"--provider: must be google or microsoft, not {options.provider!r}")
    if "@" not in options.owner:
        raise BadData(f"--owner: not an email address: {options.owner!r}")
    if options.as_of.tzinfo is None:
        raise BadData("--as-of: needs a UTC offset, e.g. 2001-07-30T18:00Z")
    if options.timezone:
        try:
            ZoneInfo(options.timezone)
        except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise BadData(f"--timezone: not an IANA time zone: {options.timezone!r}") from None
    for path in options.archives:
        if not Path(path).exists():
            raise BadData(f"{path}: no such archive file or folder")
    warnings.filterwarnings("ignore", message="response_mode='form_post'")
    base = get_settings()
    if base.log_level != "DEBUG":
        configure_logging("WARNING", base.log_format)
    owner = options.owner.strip().lower()
    result = ReplayResult(options.out, owner, options.as_of, options.provider, "")
    held = clock.HeldClock(options.as_of)  # ticking: the back-offs and leases move on
    previous = clock.use(held)
    handles: list[Any] = []
    try:
        with _Bars(console) as bars:
            started = time.perf_counter()
            archive = read_archive(
                options.archives, owner=owner, aliases=options.aliases, as_of=options.as_of
            )
            sent_raw = [m.raw for m in archive.messages if m.sent]
            result.timezone = options.timezone or guess_timezone(
                _sent_offsets(sent_raw), base.default_timezone
            )
            name = options.name or _owner_name(sent_raw, owner)
            sandbox = Sandbox(clock=held)
            sandbox.quota.update({"gmail_units_per_minute": REPLAY_QUOTA})
            account = sandbox.add_account(
                options.provider,
                owner,
                display_name=name,
                timezone=result.timezone,
                aliases=options.aliases,
            )
            bars.update("load", total=len(archive.messages) + len(archive.calendars))
            load_skips = load_archive(sandbox, account, archive)
            bars.update("load", completed=len(archive.messages) + len(archive.calendars))
            result.archive_skips = [(s.source, s.reason) for s in archive.skipped + load_skips]
            result.loaded = len(account.mailbox.messages)
            result.loaded_sent = archive.sent
            result.names_filled = archive.names_filled
            result.calendars = len(archive.calendars)
            result.timings["load"] = time.perf_counter() - started

            started = time.perf_counter()
            plain = start_sandbox(sandbox)
            handles.append(plain)
            secure = None
            if options.provider == "microsoft":
                secure = start_sandbox(sandbox, tls=True)
                handles.append(secure)
            settings = replay_settings(
                base,
                plain.base_url,
                secure.base_url if secure else plain.base_url,
                secure.ca_file if secure else None,
                options.out / "store",
            )
            shutil.rmtree(settings.data_dir, ignore_errors=True)  # a fresh store every run
            engine = make_engine(settings.effective_database_url)
            upgrade(engine)
            factory = session_factory(engine)
            # None: the product decides (its default: the owner's own non-public domains)
            domains = list(options.org_domains or [])
            owner_id = add_owner(
                factory,
                {
                    "accounts": {"google": owner},
                    "name": name,
                    "timezone": result.timezone,
                    "org_domains": domains,
                },
            )
            account_id = connect_with_oauth(factory, settings, owner_id, options.provider, owner)
            result.owner_id, result.account_id = owner_id, account_id
            result.timings["connect"] = time.perf_counter() - started

            _drain(settings, engine, factory, account_id, result, bars)
            _gather(factory, result)
            started = time.perf_counter()
            write_outputs(result, factory, account, settings, options.owner_truth)
            result.timings["report"] = time.perf_counter() - started
            engine.dispose()
    finally:
        for handle in handles:
            handle.stop()
        clock.use(previous)
    return result


def replay_settings(
    base: Settings, google_url: str, ms_url: str, ca_file: str | None, data_dir: Path
) -> Settings:
    """The demo's sandbox settings, with the store in ``data_dir``, one worker and the
    daily draft cap lifted (so every suggestion is written and can be graded)."""
    return demo_settings(
        base,
        google_url,
        ms_url,
        ca_file,
        data_dir=data_dir,
        workers=1,
        suggestions={"drafts_per_account_per_day": 100_000},
        google={"quota_units_per_minute": REPLAY_QUOTA},
    )


def _drain(
    settings: Settings,
    engine: Any,
    factory: Any,
    account_id: int,
    result: ReplayResult,
    bars: _Bars,
) -> None:
    """Run the product's tasks (the functions the actors call) from the first sync until no
    work is left; what they enqueue goes to the back of one in-process queue."""
    from rapportd.agent.store.models import Message, OutboxOperation, SkippedItem
    from rapportd.connectors.sync.account import sync_account

    queue: deque[tuple[str, int]] = deque()

    def enqueue(actor: str, item_id: int, *, delay_ms: int | None = None) -> None:
        queue.append((actor, int(item_id)))

    def syncing(*args: Any, progress: Callable[..., None] | None = None, **kw: Any) -> Any:
        def both(stream: str, done: int, total: int | None) -> None:
            bars.update("sync", completed=done, total=max(done, total or 0, result.loaded))
            if progress is not None:
                progress(stream, done, total)

        return sync_account(*args, progress=both, **kw)

    rt = Runtime(
        settings=settings,
        engine=engine,
        session_factory=factory,
        parts=Parts.real(sync_account=syncing),
        enqueue=enqueue,
    )
    enqueue(tasks.SYNC, account_id)
    ran: Counter[str] = Counter()
    while queue and sum(ran.values()) < MAX_TASKS:
        actor, item_id = queue.popleft()
        spec = actors.BY_NAME.get(actor)
        if spec is None:
            continue
        started = time.perf_counter()
        try:
            outcome = spec.fn(rt, item_id)
        except Exception as exc:  # recorded and reported; the replay goes on
            outcome = "error"
            result.task_errors.append(f"{actor}({item_id}): {type(exc).__name__}: {exc}"[:500])
        result.tasks[f"{actor}:{outcome}"] += 1
        stage = STAGE.get(actor, "maintenance")
        ran[stage] += 1
        result.timings[stage] = result.timings.get(stage, 0.0) + time.perf_counter() - started
        if stage == "sync":  # stored + recorded as skipped: all of it when nothing is lost
            with factory() as session:
                seen = int(session.scalar(select(func.count(Message.id))) or 0)
                seen += int(session.scalar(select(func.count(SkippedItem.id))) or 0)
            bars.update(stage, completed=seen, total=max(seen, result.loaded))
        elif stage == "write-back":
            with factory() as session:
                total = int(session.scalar(select(func.count(OutboxOperation.id))) or 0)
            bars.update(stage, completed=ran[stage], total=max(total, ran[stage]))
        elif stage in ("analysis", "plan"):
            bars.update(stage, completed=ran[stage], total=ran[stage])
    if queue:
        result.task_errors.append(f"stopped after {MAX_TASKS} tasks with {len(queue)} left")
    with factory() as session:
        account = session.get(Account, account_id)
        if account is not None and account.last_error:
            result.task_errors.append(f"account: {account.last_error}"[:500])


def _gather(factory: Any, result: ReplayResult) -> None:
    """Skip records, message problems and outbox states from the store."""
    from rapportd.agent.store.models import Message, OutboxOperation, SkippedItem, Suggestion

    with factory() as session:
        result.sync_skips = [
            (pid, reason)
            for pid, reason in session.execute(
                select(SkippedItem.provider_id, SkippedItem.reason).order_by(SkippedItem.id)
            )
        ]
        for problems in session.scalars(select(Message.problems)):
            for problem in problems or []:
                result.message_problems[str(problem)] += 1
        for kind, n in session.execute(
            select(Suggestion.kind, func.count()).group_by(Suggestion.kind)
        ):
            result.by_kind[kind] = int(n)
        result.suggestions = sum(result.by_kind.values())
        for op, state, n in session.execute(
            select(OutboxOperation.op, OutboxOperation.state, func.count()).group_by(
                OutboxOperation.op, OutboxOperation.state
            )
        ):
            result.outbox[f"{op}:{state}"] = int(n)


def write_outputs(
    result: ReplayResult, factory: Any, account: Any, settings: Settings, truth: Sequence[str]
) -> None:
    """``suggestions.jsonl``, ``report.html`` and the mechanical checks."""
    from rapportd.agent.replay import checks as replay_checks
    from rapportd.agent.replay import report as replay_report
    from rapportd.agent.store.models import OutboxOperation

    result.out.mkdir(parents=True, exist_ok=True)
    records = replay_report.collect(factory, result.owner_id, account, settings)
    learned = replay_report.owner_addresses(factory, result.owner_id)
    result.learned_owner_addresses = sorted(learned)
    with factory() as session:
        writing = list(
            session.scalars(select(OutboxOperation.id).where(OutboxOperation.state == "writing"))
        )
    result.records = records
    result.checks = replay_checks.run_checks(
        records,
        owner_addresses=learned | {a.lower() for a in truth},
        display_names=replay_report.display_names(factory, result.owner_id),
        signatures=replay_report.signatures(
            account.mailbox,
            {p["address"] for rec in records for p in replay_checks.recipients(rec)},
        ),
        outbox_writing=writing,
    )
    replay_report.write_jsonl(records, result.out / "suggestions.jsonl")
    html = replay_report.render_html(records, report_summary(result))
    (result.out / "report.html").write_text(html, encoding="utf-8")


def grouped_reasons(items: Iterable[tuple[str, str]]) -> list[tuple[str, int]]:
    """Skip reasons with their counts, dates and ids folded so that alike reasons group."""
    import re

    counts: Counter[str] = Counter()
    for _source, reason in items:
        counts[re.sub(r"\d{4}-\d{2}-\d{2}", "<date>", reason)] += 1
    return counts.most_common()


def report_summary(result: ReplayResult) -> Any:
    from rapportd.agent.replay.report import Summary

    summary = Summary(f"rapportd replay: {result.owner} as of {result.as_of:%Y-%m-%d %H:%M %Z}")
    summary.facts = [
        ("owner", result.owner),
        ("as of", result.as_of.isoformat()),
        ("provider", result.provider),
        ("owner's time zone", result.timezone),
        ("messages loaded", f"{result.loaded} ({result.loaded_sent} sent)"),
        ("names filled from X-From/X-To", str(result.names_filled)),
        ("calendars", str(result.calendars)),
        ("suggestions", str(result.suggestions)),
        ("owner addresses rapportd learned", ", ".join(result.learned_owner_addresses)),
        ("run time", f"{result.seconds:.1f} s"),
    ]
    summary.tables = [
        ("suggestions by kind", sorted(result.by_kind.items())),
        ("outbox (op:state)", sorted(result.outbox.items())),
        ("archive: not loaded", grouped_reasons(result.archive_skips)),
        ("sync: skip records", grouped_reasons(result.sync_skips)),
        ("messages stored with problems", result.message_problems.most_common(12)),
        ("timings (s)", [(k, f"{v:.1f}") for k, v in result.timings.items()]),
        ("tasks", sorted(result.tasks.items())),
    ]
    if result.checks is not None:
        summary.tables.append(
            (
                "mechanical checks",
                [
                    (line.split(":")[0], line.split(":", 1)[1].strip()[:200])
                    for line in result.checks.lines()
                ],
            )
        )
    if result.task_errors:
        summary.tables.append(("task errors", [(e, "") for e in result.task_errors[:20]]))
    return summary


def print_result(result: ReplayResult, console: Console) -> None:
    """The short summary the terminal shows at the end."""
    from rich.table import Table

    table = Table(title=f"replay of {result.owner} as of {result.as_of:%Y-%m-%d %H:%M}")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("messages loaded", f"{result.loaded} ({result.loaded_sent} sent)")
    table.add_row("archive items not loaded", str(len(result.archive_skips)))
    table.add_row("sync skip records", str(len(result.sync_skips)))
    for kind, n in sorted(result.by_kind.items()):
        table.add_row(f"suggestions: {kind}", str(n))
    table.add_row("suggestions", str(result.suggestions))
    for key, n in sorted(result.outbox.items()):
        table.add_row(f"outbox {key}", str(n))
    console.print(table)
    if result.checks is not None:
        for line in result.checks.lines():
            console.print(f"check {line}", highlight=False, soft_wrap=True)
    for error in result.task_errors[:10]:
        console.print(f"[red]task error[/] {error}", highlight=False, soft_wrap=True)
    console.print(
        f"wrote {result.out / 'suggestions.jsonl'} and {result.out / 'report.html'} "
        f"in {result.seconds:.1f}s"
    )
