"""`make wheel-check`: the wheel is the product. Run with the Python of a fresh venv where only
the wheel is installed, from a folder outside the source tree:

1. every data file of agent/, connectors/ and jobs/ (templates, static files, models,
   migrations) is in the wheel;
2. `rapportd demo --once` runs from the installed wheel (sandbox, OAuth, sync, analysis,
   drafts and holds written back) and exits 0;
3. with the env file the demo prints, `rapportd web` serves the demo's store: sign in, the
   review page and one suggestion page answer 200 with their content, static files too;
4. `rapportd suggestions list --json` on the same store shows drafts written to the mailbox.

    python .ci/wheel_check.py WHEEL SOURCE_ROOT
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

PACKAGES = {"agent": "rapportd/agent", "connectors": "rapportd/connectors", "jobs": "rapportd/jobs"}
SKIP = ("__pycache__", ".pyc", ".pyo")


def fail(message: str) -> None:
    print(f"wheel-check: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def data_files_present(wheel: Path, source: Path) -> int:
    """Every non-Python file under the three package folders is in the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing, count = [], 0
    for folder, prefix in PACKAGES.items():
        for path in sorted((source / folder).rglob("*")):
            if not path.is_file() or path.suffix == ".py" or any(s in str(path) for s in SKIP):
                continue
            count += 1
            inside = f"{prefix}/{path.relative_to(source / folder).as_posix()}"
            if inside not in names:
                missing.append(inside)
    if missing:
        fail(f"{len(missing)} data file(s) missing from the wheel: {missing[:10]}")
    return count


def run(cmd: list[str], env: dict[str, str], cwd: Path, timeout: float) -> str:
    result = subprocess.run(
        cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        fail(f"{' '.join(cmd[1:])} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def exported(env_file: Path) -> dict[str, str]:
    """The variables an `export K=V` file sets (what `. demo.env` does in a shell)."""
    out = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            out[key] = shlex.split(value)[0] if value else ""
    return out


def serve_web(rapportd: str, env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [rapportd, "web", "--port", "0"],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    for line in proc.stderr:
        found = re.search(r"review page at (http://\S+)", line)
        if found:
            return proc, found.group(1).rstrip("/")
        if time.monotonic() > deadline:
            break
    proc.kill()
    fail("`rapportd web` did not say where it serves the review page")
    raise AssertionError  # unreachable


def check_pages(url: str, email: str, password: str) -> tuple[int, int]:
    with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as web:
        login = web.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        if login.status_code != 200 or token is None:
            fail(f"/login answered {login.status_code}")
        assert token is not None
        signed = web.post(
            "/login", data={"email": email, "password": password, "csrf_token": token.group(1)}
        )
        if signed.status_code != 303:
            fail(f"sign-in answered {signed.status_code}")
        page = web.get("/suggestions")
        ids = re.findall(r'id="s-(\d+)"', page.text)
        if page.status_code != 200 or not ids:
            fail(f"/suggestions answered {page.status_code} with {len(ids)} suggestion(s)")
        one = web.get(f"/suggestions/{ids[0]}")
        if one.status_code != 200 or f'id="s-{ids[0]}"' not in one.text:
            fail(f"/suggestions/{ids[0]} answered {one.status_code}")
        for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
            if web.get(asset).status_code != 200:
                fail(f"{asset} is not served")
        return len(ids), int(ids[0])


def main() -> None:
    wheel, source = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    bin_dir = Path(sys.executable).parent
    rapportd = str(bin_dir / "rapportd")
    print(f"wheel-check: {data_files_present(wheel, source)} data files, all in {wheel.name}")

    work = Path(tempfile.mkdtemp(prefix="rapportd-wheel-check-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    env.update(HOME=str(work / "home"), RAPPORTD_DATA_DIR=str(work / "data"), COLUMNS="200")
    where = run(
        [sys.executable, "-c", "import rapportd.agent as a; print(a.__file__)"], env, work, 60
    )
    if str(source) in where:
        fail(f"rapportd was imported from the source tree ({where.strip()}), not the wheel")

    started = time.monotonic()
    out = run([rapportd, "demo", "--once"], env, work, 600)
    print(
        f"wheel-check: `rapportd demo --once` from the wheel: ok in {time.monotonic() - started:.0f}s"
    )
    env_line = re.search(r"use the CLI on it: \. (\S+)", out)
    account = re.search(r"sign in as (\S+), password (\S+)", out)
    if env_line is None or account is None:
        fail(f"the demo did not print its env file and sign-in:\n{out}")
    assert env_line is not None and account is not None
    cli_env = {**env, **exported(Path(shlex.split(env_line.group(1))[0]))}
    cli_env.pop("RAPPORTD_DATA_DIR")  # the env file alone must be enough

    proc, url = serve_web(rapportd, cli_env, work)
    try:
        shown, first = check_pages(url, account.group(1), account.group(2))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"wheel-check: review page lists {shown} suggestions; /suggestions/{first} renders")

    listed = json.loads(run([rapportd, "suggestions", "list", "--json"], cli_env, work, 120))
    drafts = [s for s in listed if s["status"] == "written" and not s["hold_start"]]
    if not drafts:
        fail(f"no draft written to the mailbox: {[(s['kind'], s['status']) for s in listed]}")
    print(f"wheel-check: {len(drafts)} drafts written to the sandbox's mailboxes; wheel ok")


if __name__ == "__main__":
    main()
