"""Browser-test plumbing: Debian's Chromium (installed with apt when missing and root),
Playwright launched on it, and a uvicorn server on a free loopback port in a thread."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"


def _unavailable(reason: str) -> None:
    if ON_CI:
        pytest.fail(f"{reason}, and CI=true requires the browser tests", pytrace=False)
    pytest.skip(reason)


def ensure_chromium() -> str:
    """Debian's Chromium; ``apt-get install -y chromium`` when it is missing and we are root."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        lock = ["-o", "DPkg::Lock::Timeout=600"]
        install = ["apt-get", *lock, "install", "-y", "-q", "chromium"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", *lock, "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing and could not be installed")
    return CHROMIUM


@contextmanager
def launched_browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    executable = ensure_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def shot(page: Any, name: str, *, full_page: bool = True, **options: Any) -> Path:
    """``test-output/screenshots/<name>.png``; ``options`` go to ``page.screenshot``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    for attempt in range(3):
        try:
            page.screenshot(path=str(path), full_page=full_page, **options)
            return path
        except Exception as exc:  # Chromium under load: "Unable to capture screenshot"
            if "Unable to capture screenshot" not in str(exc) or attempt == 2:
                raise
            time.sleep(0.5)
    return path


def wait_until(page: Any, expression: str, *, timeout: float = 5.0) -> None:
    """Poll a JavaScript expression from Python until it is truthy. (Playwright's
    ``wait_for_function`` polls inside the page with ``eval``, which the app's CSP forbids:
    it fails whenever the first check is false.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            seen = page.evaluate(
                "(document.activeElement ? document.activeElement.outerHTML.slice(0, 300) : '')"
                " + ' | flash: ' + (document.getElementById('flash')?.innerText || '')"
            )
            pytest.fail(f"timed out after {timeout}s waiting for {expression}; focus: {seen}")
        time.sleep(0.05)
