"""Refuse broken alert rules and Alertmanager config before anything starts.

Without this, a PromQL error in ``observability/prometheus/alerts/gateway.yml`` took 31 s to
fail ``atctl up`` (Prometheus crash-looping until supervisord gave up) and the cause was
only in ``atctl logs prometheus``. Here ``promtool check rules`` and ``amtool check-config``
run first, in well under a second, and the stack refuses to start with the tool's own
``file:line:col: message``.

Both the repository's rule files (so the line and column are the ones the user edits)
and the rendered copies (so a rendering mistake is caught too) are checked.
"""

from __future__ import annotations

import importlib
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agentic_trading.stack.errors import MissingRequirementError, StackError
from agentic_trading.stack.programs import OBSERVABILITY_MODULE, resolve_binary

TOOL_TIMEOUT_S = 10.0
# promtool: "path: 7:15: group "g", rule 1, "A": could not parse expression: 1:18: parse error: …"
_PROMTOOL_POSITION = re.compile(r"^(?P<path>[^:\s][^:]*): (?P<line>\d+):(?P<col>\d+): (?P<message>.*)$")


class ObservabilityConfigRefusedError(StackError):
    """A rule file or the Alertmanager config does not pass its tool; nothing was started."""

    exit_code = 2

    def __init__(self, tool: str, problems: Sequence[str]):
        self.tool = tool
        self.problems = list(problems)
        listed = "; ".join(self.problems)
        super().__init__(
            f"{tool} refuses the observability config, so nothing was started: {listed}. Fix it and run `atctl up` again"
        )


def promtool_problems(output: str) -> list[str]:
    """The problems in ``promtool check rules`` output, each as ``file:line:col: message``.

    Pure text: promtool prints ``path: L:C: message`` after ``FAILED:``; other lines
    (``Checking …``, ``SUCCESS``) are not problems.
    """
    problems = []
    for raw in output.splitlines():
        line = raw.strip()
        if not line or line.startswith(("Checking ", "SUCCESS")) or line == "FAILED:":
            continue
        match = _PROMTOOL_POSITION.match(line)
        if match:
            problems.append(f"{match['path']}:{match['line']}:{match['col']}: {match['message']}")
        else:
            problems.append(line)
    return problems


def amtool_problems(output: str) -> list[str]:
    """The problems in ``amtool check-config`` output (``Checking 'path'  FAILED: message``)."""
    problems = []
    for raw in output.splitlines():
        line = raw.strip()
        if "FAILED:" in line and line.startswith("Checking "):
            path, _, message = line[len("Checking ") :].partition("FAILED:")
            problems.append(f"{path.strip().strip(chr(39))}: {message.strip()}")
    return problems


def check_rule_files(promtool: str, rule_files: Sequence[Path]) -> None:
    """Raise :class:`ObservabilityConfigRefusedError` unless promtool accepts every rule file."""
    if not rule_files:
        return
    result = _run([promtool, "check", "rules", *map(str, rule_files)])
    if result.returncode != 0:
        problems = promtool_problems(result.stdout + "\n" + result.stderr)
        raise ObservabilityConfigRefusedError("promtool check rules", problems or [result.stderr.strip()])


def check_alertmanager_config(amtool: str, config: Path) -> None:
    """Raise :class:`ObservabilityConfigRefusedError` unless amtool accepts the config."""
    result = _run([amtool, "check-config", str(config)])
    if result.returncode != 0:
        problems = amtool_problems(result.stdout + "\n" + result.stderr)
        raise ObservabilityConfigRefusedError("amtool check-config", problems or [result.stderr.strip()])


def tool(name: str, found: str | None) -> str:
    """The tool's path, or an error saying how to install it."""
    if found is None:
        raise MissingRequirementError(
            f"{name} is not installed (Debian packages prometheus, prometheus-alertmanager): run scripts/bootstrap.sh"
        )
    return found


def check_source_rules(promtool: str | None, rule_files: Sequence[Path]) -> None:
    """The repository's rule files, before anything is rendered: promtool's own line and column."""
    check_rule_files(tool("promtool", promtool), rule_files)


def check_rendered(promtool: str | None, amtool: str | None, rule_files: Sequence[Path], alertmanager_config: Path) -> None:
    """The stack's rendered rule files and Alertmanager config, before anything starts."""
    check_rule_files(tool("promtool", promtool), rule_files)
    check_alertmanager_config(tool("amtool", amtool), alertmanager_config)


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise StackError(f"could not run {command[0]} ({error}): reinstall it with scripts/bootstrap.sh") from error


def check_repository_rules() -> None:
    """promtool on the repository's rule files: refused with promtool's own line:col."""
    source = importlib.import_module(OBSERVABILITY_MODULE).default_source_dir() / "prometheus"
    check_source_rules(resolve_binary("promtool"), sorted(source.glob("rules/*.yml")) + sorted(source.glob("alerts/*.yml")))


def check_rendered_files(files: Any) -> None:
    """promtool and amtool on a stack's rendered files (``ObservabilityFiles``), before anything starts."""
    check_rendered(
        resolve_binary("promtool"),
        resolve_binary("amtool"),
        sorted(files.rules_dir.glob("rules/*.yml")) + sorted(files.rules_dir.glob("alerts/*.yml")),
        files.alertmanager_config,
    )
