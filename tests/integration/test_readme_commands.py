"""Every shell command of README.md, run as written against a stack started with --port-offset.

A newcomer starts a stack with ``atctl up --port-offset N`` and then types the README's
commands from the repository, without repeating the offset: the commands must find the stack
through its state directory. This test does the same. It starts its own stack
(``atctl up --port-offset N --state-dir <tmp>``, N free, at most 23000), then runs each command
of the README's ``sh`` blocks (read from README.md, so a README edit that breaks a command
fails here) with ``bash``, ``cwd`` the repository and **``AT_STATE_DIR=<tmp>`` in the
environment** (standing for the default ``.atctl``, which belongs to the developer's own
stack): the commands are not rewritten, no ``--port-offset`` is passed, and ``AT_PORT_OFFSET``,
``AT_WEBHOOK_SECRET`` and ``AT_CONFIG`` are removed from the environment.

Three kinds of commands are not run, and :data:`NOT_RUN` says why; one is adapted:

* ``make up|test|down`` (bootstrap, the default stack on the default ports, the suite itself);
* the "second stack" commands with ``--state-dir /tmp/stack2 --port-offset 1000``, ports that
  may belong to someone else on a shared machine (the fixture's own ``atctl up`` is that form);
* ``atctl dashboards screenshot --output docs/images/dashboards``, which would overwrite the
  repository's committed pictures (``tests/integration/browser`` runs that command);
* the ``curl`` example's ``http://127.0.0.1:8001`` (the default stack's gateway) is replaced
  by this stack's gateway URL: curl cannot read ``stack.json``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agentic_trading.settings import Settings
from agentic_trading.stack import Stack, available_programs
from agentic_trading.stack.ports import find_free_port_offset

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DEFAULT_GATEWAY = "http://127.0.0.1:8001"
NOT_RUN = {
    "make ": "bootstrap and the default stack on the default ports (or the whole suite)",
    "/tmp/stack2": "the README's second stack at offset 1000: ports that may be someone else's",
    "dashboards screenshot --output docs/images": "rewrites the committed pictures (tests/integration/browser runs it)",
}
COMMAND_TIMEOUT_S = 90


def readme_commands(text: str) -> list[str]:
    """The commands of every ```sh block: continuation lines joined, comments dropped."""
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        pending = ""
        for line in block.splitlines():
            pending = f"{pending}\n{line}" if pending else line
            try:
                words = shlex.split(pending, comments=True)
            except ValueError:  # a quote still open: the command goes on
                continue
            if pending.rstrip().endswith("\\"):
                continue
            if words:
                commands.append(pending.strip())
            pending = ""
        assert not pending, f"README.md: unterminated command in a sh block: {pending!r}"
    return commands


def not_run_because(command: str) -> str | None:
    return next((why for marker, why in NOT_RUN.items() if marker in command), None)


@dataclass
class OwnStack:
    state_dir: Path
    settings: Settings
    up_output: str


def _atctl_env(state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("AT_PORT_OFFSET", "AT_WEBHOOK_SECRET", "AT_CONFIG")}
    env["AT_STATE_DIR"] = str(state_dir)
    env["COLUMNS"] = "80"
    return env


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnStack]:
    state_dir = tmp_path_factory.mktemp("readme") / "state"
    programs = available_programs()
    requested = os.environ.get("AT_TEST_README_PORT_OFFSET")
    offset = (
        int(requested)
        if requested
        else find_free_port_offset(Settings(state_dir=state_dir), programs, candidates=range(20050, 23001, 100))
    )
    assert offset is not None, "no port offset with all ports free between 20050 and 23000"
    atctl = str(Path(sys.executable).parent / "atctl")
    env = {k: v for k, v in _atctl_env(state_dir).items() if k != "AT_STATE_DIR"}
    try:
        started = subprocess.run(
            [atctl, "up", "--port-offset", str(offset), "--state-dir", str(state_dir), "--timeout", "90"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
        assert started.returncode == 0, started.stdout + started.stderr
        yield OwnStack(state_dir, Stack.attach(state_dir).settings, started.stdout)
    finally:
        if (state_dir / "stack.json").exists():
            Stack.attach(state_dir).down(purge=True)


def test_the_readme_has_the_commands_this_test_expects() -> None:
    """The extraction itself: if it found nothing, the test below would pass vacuously."""
    commands = readme_commands(README.read_text())
    runnable = [c for c in commands if not_run_because(c) is None]
    for expected in ("curl ", "atctl trace ", "atctl generate normal", "atctl generate errors", "atctl generate burst"):
        assert any(expected in c for c in runnable), f"no runnable README command with {expected!r}"
    assert any("atctl load " in c for c in runnable)
    assert len(commands) > len(runnable) >= 6


@pytest.mark.timeout(360)
def test_every_readme_command_works_as_written_on_a_stack_with_a_port_offset(own_stack: OwnStack) -> None:
    assert own_stack.settings.port_offset > 0
    assert f"port offset {own_stack.settings.port_offset}, profile fast" in " ".join(own_stack.up_output.split())
    gateway = own_stack.settings.url("gateway")
    env = _atctl_env(own_stack.state_dir)
    ran = []
    for command in readme_commands(README.read_text()):
        if not_run_because(command) is not None:
            continue
        if command.startswith("curl "):
            command = command.replace(DEFAULT_GATEWAY, gateway)
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"README command failed (exit {result.returncode}):\n{command}\n{output}"
        if command.startswith("curl "):
            assert re.search(r"^HTTP/1\.1 200", result.stdout, re.MULTILINE), output
        ran.append(command.split("#")[0].strip())
    print("\nREADME commands run as written:\n  " + "\n  ".join(ran))


@pytest.mark.timeout(240)
def test_up_on_the_running_stack_switches_the_alert_profile(own_stack: OwnStack) -> None:
    """`atctl up --profile production` (no offset repeated): Prometheus and Alertmanager run the files' timings."""

    def running_configs() -> tuple[str, str]:
        prometheus = httpx.get(own_stack.settings.url("prometheus") + "/api/v1/status/config", timeout=5).json()
        alertmanager = httpx.get(own_stack.settings.url("alertmanager") + "/api/v2/status", timeout=5).json()
        return prometheus["data"]["yaml"], alertmanager["config"]["original"]

    prometheus_yaml, alertmanager_yaml = running_configs()
    assert "evaluation_interval: 1s" in prometheus_yaml and "group_interval: 1s" in alertmanager_yaml
    atctl = str(REPO / ".venv" / "bin" / "atctl")
    env = _atctl_env(own_stack.state_dir)
    switched = subprocess.run(
        [atctl, "up", "--profile", "production", "--timeout", "90"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip
    assert switched.returncode == 0, switched.stdout + switched.stderr
    assert f"port offset {own_stack.settings.port_offset}, profile production" in " ".join(switched.stdout.split())
    prometheus_yaml, alertmanager_yaml = running_configs()
    assert "evaluation_interval: 15s" in prometheus_yaml, prometheus_yaml[:400]
    assert "group_interval: 5m" in alertmanager_yaml, alertmanager_yaml[:400]
    status = subprocess.run(
        [atctl, "status", "--format", "json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert json.loads(status.stdout)["profile"] == "production", status.stdout + status.stderr
