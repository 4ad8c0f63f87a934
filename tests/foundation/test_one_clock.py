"""One clock: nothing in agent/, connectors/ or jobs/ asks the machine what time it is except
rapportd.agent.core.clock, and a held clock is what every part reads.

The AST check resolves imports (``from datetime import datetime as dt``, ``import time as t``,
``from time import time``) and flags every reference to a wall-clock function, called or
not (``default=datetime.now`` counts too), plus the time-formatting calls that read the
clock when given no time (``time.strftime(fmt)``, ``time.gmtime()``, ``formatdate()``).
Durations (``time.monotonic``, ``time.perf_counter``) are fine.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from rapportd.agent.core import clock
from rapportd.agent.core.settings import Settings, SettingsError, apply_clock, load_settings

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("agent", "connectors", "jobs")

# Always the wall clock, called or referenced.
WALL = {
    "datetime.datetime.now",
    "datetime.datetime.utcnow",
    "datetime.datetime.today",
    "datetime.date.today",
    "time.time",
    "time.time_ns",
}
# The wall clock when called with fewer positional/keyword arguments than this.
WALL_WITHOUT_ARGS = {
    "time.gmtime": 1,
    "time.localtime": 1,
    "time.ctime": 1,
    "time.asctime": 1,
    "time.strftime": 2,
    "email.utils.formatdate": 1,
    "email.utils.localtime": 1,
}
# clock.wall_now(): the real time, for what a third party checks against the real clock.
# Every caller is named here with its reason; a new one needs a line and a reason.
WALL_NOW_ALLOWED = {
    # google-auth verifies the sandbox's RS256 JWTs (OAuth id tokens, Pub/Sub push tokens)
    # and its certificate against the machine's clock, whatever instant a run is held at.
    "connectors/sandbox/signing.py",
    # msal checks the id token's iat/nbf/exp against the machine's clock.
    "connectors/sandbox/microsoft_oauth.py",
    # A provider's Retry-After HTTP-date is stated on the real clock.
    "connectors/errors.py",
}
CLOCK_MODULE = "agent/core/clock.py"


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> qualified name, from the module's imports (any nesting level)."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    names[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    base = aliases.get(node.id)
    if base is None:
        return None
    return ".".join([base, *reversed(parts)])


def wall_clock_uses(source: str, filename: str = "<src>") -> list[str]:
    """``file:line: name`` for every wall-clock use in ``source``."""
    tree = ast.parse(source, filename)
    aliases = _aliases(tree)
    found: list[str] = []
    called: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _qualified(node.func, aliases)
            if name is None:
                continue
            called.add(id(node.func))
            given = len(node.args) + len(node.keywords)
            if name in WALL or given < WALL_WITHOUT_ARGS.get(name, 0):
                found.append(f"{filename}:{node.lineno}: {name}()")
            if name in ("rapportd.agent.core.clock.wall_now",):
                found.append(f"{filename}:{node.lineno}: wall_now()")
    for node in ast.walk(tree):
        loaded = isinstance(getattr(node, "ctx", None), ast.Load)
        if isinstance(node, ast.Attribute | ast.Name) and id(node) not in called and loaded:
            name = _qualified(node, aliases)
            if name in WALL:
                found.append(f"{filename}:{node.lineno}: {name} (referenced)")
    # clock.wall_now() through ``from rapportd.agent.core import clock``
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "wall_now"
            and _qualified(node.func, aliases) != "rapportd.agent.core.clock.wall_now"
        ):
            base = _qualified(node.func.value, aliases)
            if base == "rapportd.agent.core.clock":
                found.append(f"{filename}:{node.lineno}: wall_now()")
    return found


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def test_nothing_but_the_clock_module_reads_the_wall_clock() -> None:
    problems = []
    for path in _sources():
        rel = path.relative_to(REPO).as_posix()
        if rel == CLOCK_MODULE:
            continue
        for use in wall_clock_uses(path.read_text("utf-8"), rel):
            if use.endswith("wall_now()") and rel in WALL_NOW_ALLOWED:
                continue
            problems.append(use)
    assert not problems, "use rapportd.agent.core.clock.now():\n" + "\n".join(problems)


def test_every_allowed_wall_now_caller_still_needs_it() -> None:
    for rel in WALL_NOW_ALLOWED:
        uses = wall_clock_uses((REPO / rel).read_text("utf-8"), rel)
        assert any(u.endswith("wall_now()") for u in uses), f"{rel}: drop it from the list"


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import UTC, datetime\nx = datetime.now(UTC)",
        "import datetime\nx = datetime.datetime.utcnow()",
        "import datetime as dt\nx = dt.date.today()",
        "from datetime import date\nx = date.today()",
        "import time\nx = time.time()",
        "from time import time\nx = time()",
        "import time as t\nx = t.time_ns()",
        "import time\nx = time.strftime('%Y')",
        "import time\nx = time.gmtime()",
        "from email.utils import formatdate\nx = formatdate()",
        "from datetime import datetime\ndef f(clock=datetime.now): ...",
        "from datetime import UTC, datetime\nf = lambda: datetime.now(UTC)",
        "from rapportd.agent.core import clock\nx = clock.wall_now()",
        "from rapportd.agent.core.clock import wall_now\nx = wall_now()",
    ],
)
def test_the_check_finds_each_form(source: str) -> None:
    assert wall_clock_uses(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import time\nx = time.monotonic(); y = time.perf_counter()",
        "import time\nx = time.strftime('%Y', time.gmtime(0))",
        "from datetime import datetime\nx = datetime.fromtimestamp(0)",
        "from rapportd.agent.core import clock\nx = clock.now()",
        "class A:\n    def now(self): ...\nA().now()",
    ],
)
def test_the_check_lets_durations_and_given_times_pass(source: str) -> None:
    assert not wall_clock_uses(source), source


# ----------------------------------------------------------------------------- the clock
AT = datetime(2001, 7, 30, 18, 0, tzinfo=UTC)


def test_a_held_clock_is_what_now_reads_and_it_ticks() -> None:
    with clock.held(AT) as held:
        first = clock.now()
        assert AT <= first < AT + timedelta(seconds=5)
        held.advance(timedelta(days=1))
        assert clock.now() - first >= timedelta(days=1)
    assert clock.now().year > 2001


def test_processes_with_the_same_as_of_and_anchor_agree() -> None:
    anchor = clock.wall_now() - timedelta(hours=2)
    a = clock.HeldClock(AT, anchor=anchor)
    b = clock.HeldClock(AT, anchor=anchor)
    assert abs((a.now() - b.now()).total_seconds()) < 1
    assert timedelta(hours=2) - timedelta(seconds=5) < a.now() - AT < timedelta(hours=2, seconds=5)


def test_clock_settings_hold_the_process_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORTD_CLOCK__AS_OF", "2001-07-30T18:00Z")
    settings = load_settings()
    assert settings.clock.instants() == (AT, None)
    previous = clock.current()
    try:
        apply_clock(settings)
        assert abs((clock.now() - AT).total_seconds()) < 5
    finally:
        clock.use(previous)


def test_empty_clock_settings_leave_the_clock_alone() -> None:
    with clock.held(AT):
        apply_clock(Settings())
        assert clock.now().year == 2001


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        (
            "RAPPORTD_CLOCK__AS_OF",
            "2001-07-30T18:00",
            "setting clock.as_of (RAPPORTD_CLOCK__AS_OF)",
        ),
        ("RAPPORTD_CLOCK__AS_OF", "last tuesday", "not an ISO 8601 instant"),
        ("RAPPORTD_CLOCK__ANCHOR", "2026-01-01T00:00Z", "clock.anchor is only read with"),
    ],
)
def test_a_wrong_clock_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_the_sandbox_can_share_the_process_clock() -> None:
    from rapportd.connectors.sandbox.state import Sandbox

    with clock.held(AT) as held:
        sandbox = Sandbox(clock=held)
        sandbox.clock.advance(timedelta(days=3))  # what /_sandbox/clock/advance does
        assert clock.now() - AT >= timedelta(days=3)
        assert abs((sandbox.now() - clock.now()).total_seconds()) < 1
    own = Sandbox(ticking=False)  # a sandbox of its own starts at the process clock's now
    own.clock.advance(timedelta(days=3))
    assert (own.now() - clock.now()).total_seconds() > 2.9 * 86400


def test_store_defaults_come_from_the_held_clock(sqlite_engine: Engine) -> None:
    from rapportd.agent.store.db import session_factory
    from rapportd.agent.store.models import Owner

    factory = session_factory(sqlite_engine)
    with clock.held(AT, ticking=False), factory() as session, session.begin():
        owner = Owner(email="kean@example.com")
        session.add(owner)
        session.flush()
        assert owner.created_at == AT
