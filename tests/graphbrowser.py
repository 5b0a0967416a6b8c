"""Headless Chromium for the graph page tests, driven by Selenium 4 with the system chromedriver.

Selenium is pointed at /usr/bin/chromedriver and /usr/bin/chromium (Debian's
packages, installed by the playbook's base role), so Selenium Manager never
looks for a driver on the network. The browser and its driver are quit in a
`finally`: no process of theirs outlives the test.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
ARTEFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artefacts"


def missing() -> str:
    """Why the browser cannot run here ("" if it can)."""
    for path in (CHROMEDRIVER, CHROMIUM):
        if not Path(path).exists():
            return (
                f"{path} is not installed ('make test' installs Debian's chromium and chromium-driver;"
                " Ubuntu ships Chromium only as a snap, which the playbook leaves out)"
            )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed ('make setup' installs the dev extras)"
    return ""


@contextmanager
def chromium(width: int = 1600, height: int = 1000) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cce-graph-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # tests run as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",  # no update, sync or safe-browsing traffic
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    ours = _tree(driver.service.process.pid)
    try:
        yield driver
    finally:
        ours |= _tree(driver.service.process.pid)
        driver.quit()  # ends Chromium and stops chromedriver
        _wait_gone(ours)  # Chromium's helpers take a moment after quit: the test ends when they are gone
        shutil.rmtree(profile, ignore_errors=True)


def _tree(pid: int) -> set[int]:
    """pid and all its descendants (read from /proc: these are the processes this test started)."""
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            with suppress(OSError):  # the task ended meanwhile
                todo += [int(c) for c in (task / "children").read_text().split()]
    return found


def _wait_gone(pids: set[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = {p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)}
        if not alive:
            return
        time.sleep(0.05)
    raise AssertionError(f"browser processes still running after quit: {sorted(alive)}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def fill(driver, element_id: str) -> str:
    """The computed fill of the shape of an SVG element (its first polygon, ellipse or path)."""
    return driver.execute_script(
        "const g = document.getElementById(arguments[0]);"
        "const s = g && g.querySelector(':scope > polygon, :scope > ellipse, :scope > path');"
        "return s ? getComputedStyle(s).fill : null;",
        element_id,
    )


def stroke(driver, element_id: str) -> str:
    return driver.execute_script(
        "const g = document.getElementById(arguments[0]);"
        "const s = g && g.querySelector(':scope > path');"
        "return s ? getComputedStyle(s).stroke : null;",
        element_id,
    )


def fetched(driver) -> list[str]:
    """Every resource the page loaded after the document itself (a self-contained page loads none)."""
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")


def screenshot(driver, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / name
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path
