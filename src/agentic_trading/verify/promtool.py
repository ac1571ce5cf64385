"""Running ``promtool`` (Debian package ``prometheus``) and reading what it says.

``promtool check metrics`` exits 1 when the exposition does not parse and 3 when it
parses but breaks naming conventions ("counter metrics should have _total suffix");
each convention finding is one line starting with the metric name.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agentic_trading.errors import AgenticTradingError

PROMTOOL_TIMEOUT_S = 60.0
EXIT_LINT_PROBLEMS = 3


class PromtoolMissingError(AgenticTradingError):
    """promtool is not installed: the rule checks cannot run."""

    exit_code = 2

    def __init__(self) -> None:
        super().__init__("promtool is not installed: apt-get install prometheus (scripts/bootstrap.sh does)")


@dataclass(frozen=True)
class PromtoolRun:
    command: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()

    @property
    def command_line(self) -> str:
        return shlex.join(self.command)


def promtool_path() -> str:
    path = shutil.which("promtool")
    if path is None:
        raise PromtoolMissingError()
    return path


def run_promtool(args: Sequence[str], *, input_text: str | None = None, cwd: Path | None = None) -> PromtoolRun:
    command = [promtool_path(), *args]
    completed = subprocess.run(
        command, input=input_text, capture_output=True, text=True, cwd=cwd, timeout=PROMTOOL_TIMEOUT_S, check=False
    )
    return PromtoolRun(["promtool", *args], completed.returncode, completed.stdout, completed.stderr)


def lint_findings(output: str) -> list[tuple[str, str]]:
    """(metric name, problem) for every convention finding of ``promtool check metrics``."""
    findings = []
    for line in output.splitlines():
        name, _, problem = line.strip().partition(" ")
        if name and problem and not line.startswith("error"):
            findings.append((name, problem))
    return findings
