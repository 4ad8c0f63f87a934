"""The process the crash tests kill: whole cycles (sync -> analysis -> plan -> write-back)
against a sandbox served by the test, with settings from RAPPORTD_* variables.

    python tests/reliability/crash_driver.py '{"now": ISO, "cycles": 2, "progress": PATH,
                                               "crash": "op_after_write:3", "trace": false}'

``progress`` records how many cycles are complete, so a restarted driver goes on where the
killed one was (restarting the interrupted cycle from its start, as the daemon's scheduler
would). ``crash`` = ``<point>:<n>`` makes the process SIGKILL itself at the n-th time it
reaches that point: ``sync_batch`` (after a batch's commit), ``commit`` (inside any
transaction, after its flush, before its commit), ``analysed``, ``planned``,
``op_claimed``, ``op_before_write``, ``op_after_write``, ``op_recorded``. ``trace`` prints
``cycle <n>`` and ``point <name>`` lines as it goes (flushed), so that a kill from outside
can be placed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.settings import apply_clock, load_settings
from rapportd.agent.store.models import Account, Owner
from reliability import harness as H


def main(argv: list[str]) -> int:
    args = json.loads(argv[1])
    now = datetime.fromisoformat(args["now"])
    progress = Path(args["progress"])
    crash = args.get("crash", "")
    trace = bool(args.get("trace"))
    hits: Counter[str] = Counter()

    def point(name: str) -> None:
        hits[name] += 1
        if trace:  # where a kill from outside landed: the last point passed
            sys.stdout.write(f"point {name}\n")
            sys.stdout.flush()
        if crash == f"{name}:{hits[name]}":
            sys.stdout.write(f"killing myself at {crash}\n")
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    if crash.startswith("commit:"):
        event.listen(Session, "before_commit", lambda _s: point("commit"))
    settings = load_settings()
    apply_clock(settings)  # a replayed archive's held clock (RAPPORTD_CLOCK__*)
    engine, factory = H.store(settings.effective_database_url)
    with factory() as s:
        owners = list(s.scalars(select(Owner.id).order_by(Owner.id)))
        accounts = list(s.scalars(select(Account.id).order_by(Account.id)))
    release_dead_leases(factory)
    r = H.Rig(None, settings, engine, factory, owners=owners, accounts=accounts)
    failed = False
    done = int(progress.read_text() or 0) if progress.exists() else 0
    for cycle in range(done, int(args["cycles"])):
        if trace:
            sys.stdout.write(f"cycle {cycle + 1}\n")
            sys.stdout.flush()
        report = H.run_cycle(r, now, point)
        if report.errors:
            failed = True
            sys.stdout.write(json.dumps(report.errors) + "\n")
        tmp = progress.with_suffix(".tmp")
        tmp.write_text(str(cycle + 1))
        tmp.replace(progress)
    sys.stdout.write(json.dumps(dict(hits)) + "\n")
    engine.dispose()
    return 1 if failed else 0


def release_dead_leases(factory: sessionmaker[Session]) -> None:
    """What the passing of time does for a daemon (a killed worker's sync lease runs out
    after ``--lease-seconds``): free the leases of processes of this host that are gone."""
    host = socket.gethostname()
    with factory() as s, s.begin():
        for account in s.scalars(select(Account).where(Account.sync_lease_owner.is_not(None))):
            holder_host, _, pid = (account.sync_lease_owner or "").rpartition(":")
            if holder_host == host and pid.isdigit() and not _alive(int(pid)):
                account.sync_lease_owner, account.sync_lease_until = None, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
