"""Headless Chromium on the viewer: log in, open a dashboard state, read its panels, take a screenshot.

Used by ``atctl dashboards screenshot`` and the browser tests, through Selenium with
Debian's ``chromium`` and ``chromedriver`` (``scripts/bootstrap.sh`` installs both). The page
tells when it is done (``data-loaded``/``data-load-count`` on ``[data-testid=dashboard]``)
and what each panel shows (``data-state``), so nothing here guesses with sleeps.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from agentic_trading.errors import AgenticTradingError

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WIDTH = 1600
HEIGHT = 1000
# The arguments the specification's visual test is run with too (observability/tests/README.md).
CHROMIUM_ARGUMENTS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars")


class BrowserError(AgenticTradingError):
    """Chromium could not be driven, or a page did not finish in time."""

    exit_code = 2


@dataclass(frozen=True)
class PanelState:
    """What one panel shows: ``data``, ``empty``, ``empty-allowed``, ``error`` (or still ``loading``)."""

    title: str
    state: str
    error: str
    rect: tuple[int, int, int, int]  # x, y, width, height in page pixels


@dataclass(frozen=True)
class DashboardView:
    uid: str
    variables: dict[str, list[str]]  # the selection the page shows ("All" for Grafana's $__all)
    options: dict[str, list[str]]  # every value each variable offers, as the page resolved them
    panels: list[PanelState]
    console_errors: list[str]


def state_query(variables: Mapping[str, Sequence[str]], extra: Mapping[str, str] | None = None) -> str:
    """The URL query of a variable state, Grafana-style: ``var-agent_type=risk&var-agent_type=momentum``."""
    pairs = [(f"var-{name}", value) for name, values in variables.items() for value in values]
    pairs.extend((extra or {}).items())
    return urlencode(pairs)


@contextmanager
def chromium(width: int = WIDTH, height: int = HEIGHT) -> Iterator[Any]:
    """A headless Chromium under chromedriver, quit on exit."""
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    for binary in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(binary) is None:
            raise BrowserError(f"{binary} is not installed: run scripts/bootstrap.sh (Debian packages chromium, chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*CHROMIUM_ARGUMENTS, f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        raise BrowserError(f"chromedriver could not start chromium: {exc.msg}") from exc
    try:
        yield driver
    finally:
        driver.quit()


class Viewer:
    """One browser session on a viewer at ``base_url``."""

    def __init__(self, driver: Any, base_url: str, *, timeout_s: float = 20.0):
        self.driver = driver
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def log_in(self, user: str = "admin", password: str = "admin") -> None:
        """The login form, as a person fills it; then waits for the home page."""
        from selenium.webdriver.common.by import By

        self.driver.get(f"{self.base_url}/login")
        self.driver.find_element(By.NAME, "user").clear()
        self.driver.find_element(By.NAME, "user").send_keys(user)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "[data-testid='login-submit']").click()

        def logged_in() -> bool:
            if "failed=1" in self.driver.current_url:
                raise BrowserError(f"the viewer at {self.base_url} refused user {user!r} and that password")
            return self._page_state("loaded") == "true"

        self._wait_for(logged_in, "the page after logging in", signed_in=False)

    def open(self, uid: str, variables: Mapping[str, Sequence[str]] | None = None, **params: str) -> DashboardView:
        """Open ``/d/<uid>`` in a variable state and wait until every panel has finished."""
        self.console_errors()  # drop what earlier pages logged
        query = state_query(variables or {}, params)
        self.driver.get(f"{self.base_url}/d/{uid}" + (f"?{query}" if query else ""))
        self._wait_for(lambda: int(self._page_state("loadCount") or 0) >= 1, f"dashboard {uid} to finish loading")
        return self.view(uid)

    def _signed_out(self) -> bool:
        path: str = self.driver.execute_script("return location.pathname;")
        if path == "/login":
            raise BrowserError(f"the viewer at {self.base_url} asks for a password: log in first (user admin)")
        return False

    def view(self, uid: str) -> DashboardView:
        raw = self.driver.execute_script(
            """
            const root = document.querySelector("[data-testid='dashboard']");
            const panels = [...document.querySelectorAll(".panel")].map((p) => {
              const r = p.getBoundingClientRect();
              return {title: p.dataset.panelTitle, state: p.dataset.state, error: p.dataset.error || "",
                      rect: [r.left + scrollX, r.top + scrollY, r.width, r.height].map(Math.round)};
            });
            return {variables: root.dataset.variables || "{}", options: root.dataset.options || "{}", panels};
            """
        )
        panels = [PanelState(p["title"], p["state"], p["error"], tuple(p["rect"])) for p in raw["panels"]]
        variables = {
            name: ["All" if value == "$__all" else value for value in values]
            for name, values in json.loads(raw["variables"]).items()
        }
        return DashboardView(uid, variables, json.loads(raw["options"]), panels, self.console_errors())

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.driver.get_log("browser") if entry.get("level") == "SEVERE"]

    def masks(self) -> list[tuple[int, int, int, int]]:
        """Page rectangles that hold live data (chart areas, values, legends): masked in image diffs."""
        rects: list[list[int]] = self.driver.execute_script(
            """return [...document.querySelectorAll(".panel-content")].map((e) => {
                 const r = e.getBoundingClientRect();
                 return [r.left + scrollX, r.top + scrollY, r.width, r.height].map(Math.round);
               });"""
        )
        return [(r[0], r[1], r[2], r[3]) for r in rects]

    def screenshot(self, path: Path) -> Path:
        """The whole page, beyond the window's height, as a PNG."""
        width, height = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.scrollHeight];"
        )
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def _page_state(self, key: str) -> str | None:
        value: str | None = self.driver.execute_script(
            "const root = document.querySelector(\"[data-testid='dashboard']\"); return root ? root.dataset[arguments[0]] : null;",
            key,
        )
        return value

    def _wait_for(self, condition: Any, what: str, *, signed_in: bool = True) -> None:
        deadline = time.monotonic() + self.timeout_s
        while (signed_in and self._signed_out()) or not condition():
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out after {self.timeout_s:g} s waiting for {what} at {self.driver.current_url}")
            time.sleep(0.05)
