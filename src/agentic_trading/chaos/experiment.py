"""Experiment files: Chaos Toolkit's format, plus what atctl needs to judge the run.

A file under ``chaos/`` is a Chaos Toolkit experiment (``title``, ``description``,
``steady-state-hypothesis``, ``method``, ``rollbacks``) whose activities are Python
providers from :mod:`agentic_trading.chaos.actions` and :mod:`agentic_trading.chaos.probes`. What the verdict needs beyond
that lives where Chaos Toolkit keeps extra data, in ``extensions``, under the name
``atctl``::

    extensions:
      - name: atctl
        alert: GatewayDown              # the alert this fault must fire
        fault: graceful stop of the gateway (SIGTERM)
        also_notified:                  # other alerts allowed to notify, each with why
          TargetDown: ...
        notify_within_s: 25             # optional; default: the alert's fast `for` + 3 s
        notify_reason: ...              # required with notify_within_s
        resolve_within_s: 30            # optional; default 5 s
        resolve_reason: ...             # required with resolve_within_s
        hold_resolved_s: 20             # optional; default 5 s: no new firing this soon after `resolved`
        hold_reason: ...                # required with hold_resolved_s
        exception: ...                  # the fault cannot fire the alert today: say why
        touches: [redis-memory]         # optional: shared things the fault changes, beyond programs
        needs: [gateway, nats]          # optional: what the measurement needs undisturbed

``touches`` and ``needs`` let ``atctl chaos run --concurrency N`` run experiments side by side
only when they cannot interact (:mod:`agentic_trading.chaos.schedule`). The programs an
experiment's actions act on (stop, pause, partition, reroute, spin) are touched without saying.

Pure: parsing and validation only, so it is unit-tested without a stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from agentic_trading.chaos.errors import ExperimentFileError, UnknownExperimentError

EXTENSION_NAME = "atctl"
DEFAULT_RESOLVE_WITHIN_S = 5.0
DEFAULT_HOLD_RESOLVED_S = 5.0  # a resolution counts only when no new firing follows this soon
NOTIFY_MARGIN_S = 3.0
SUFFIXES = (".yaml", ".yml", ".json")
_REQUIRED = ("title", "description", "method")
_EXTENSION_KEYS = frozenset(
    {
        "name",
        "alert",
        "fault",
        "also_notified",
        "notify_within_s",
        "notify_reason",
        "resolve_within_s",
        "resolve_reason",
        "exception",
        "touches",
        "needs",
        "hold_resolved_s",
        "hold_reason",
    }
)
# Providers that act on the program named by their ``name`` argument (default in brackets).
_PROGRAM_ACTIONS = {
    "stop_program": None,
    "start_program": None,
    "kill_program": None,
    "pause_program": None,
    "resume_program": None,
    "partition_program": None,
    "heal_program": None,
    "reroute_through_proxy": None,
    "set_toxics": None,
    "end_reroute": None,
    # A CPU spin runs in the program: everyone who calls it waits behind the spin (treated as
    # touching it, not proven harmless to the callers side by side).
    "burn_cpu": "redis",
    "stop_cpu_burn": "redis",
}
# Providers that change a shared thing that is not a program: how to name it from the arguments.
_RESOURCE_ACTIONS = {
    "reconfigure_stream": lambda args: f"stream:{args.get('stream')}",
    "add_stuck_consumer": lambda args: f"stream:{args.get('stream')}",
    "fill_stream": lambda args: f"stream:{args.get('stream')}",
    "fill_redis_memory": lambda args: "redis-memory",
}


@dataclass(frozen=True)
class Experiment:
    """One experiment file: the Chaos Toolkit document and atctl's expectations."""

    name: str  # the file name without suffix: `atctl chaos run NAME`
    path: Path
    title: str
    alert: str
    fault: str
    document: dict[str, Any] = field(repr=False)
    also_notified: dict[str, str] = field(default_factory=dict)
    notify_within_s: float | None = None
    resolve_within_s: float = DEFAULT_RESOLVE_WITHIN_S
    hold_resolved_s: float = DEFAULT_HOLD_RESOLVED_S
    exception: str | None = None
    touches: frozenset[str] = frozenset()  # programs acted on, and shared things the file names
    needs: frozenset[str] = frozenset()

    @property
    def declared(self) -> frozenset[str]:
        """Alerts this experiment's fault may notify: its own and the declared consequences."""
        return frozenset({self.alert, *self.also_notified})

    def notify_budget_s(self, alert_for_s: float) -> float:
        """Seconds from fault to notification allowed: the override, else the alert's `for` + 3 s."""
        return self.notify_within_s if self.notify_within_s is not None else alert_for_s + NOTIFY_MARGIN_S


def load_experiment(path: Path) -> Experiment:
    """Parse and validate one file; raise :class:`ExperimentFileError` naming what is wrong."""
    try:
        text = path.read_text()
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ExperimentFileError(path, f"cannot read it ({exc})") from exc
    return parse_experiment(document, path)


def parse_experiment(document: Any, path: Path) -> Experiment:
    if not isinstance(document, dict):
        raise ExperimentFileError(path, "not a mapping: an experiment has title, description, method, rollbacks")
    for key in _REQUIRED:
        if not document.get(key):
            raise ExperimentFileError(path, f"missing {key!r} (Chaos Toolkit requires it)")
    for section in ("method", "rollbacks"):
        for index, activity in enumerate(document.get(section) or []):
            _check_activity(path, f"{section}[{index}]", activity)
    hypothesis = document.get("steady-state-hypothesis") or {}
    for index, probe in enumerate(hypothesis.get("probes") or []):
        _check_activity(path, f"steady-state-hypothesis.probes[{index}]", probe)
        if "tolerance" not in probe:
            raise ExperimentFileError(path, f"steady-state-hypothesis.probes[{index}]: a hypothesis probe needs a tolerance")
    if not document.get("rollbacks"):
        raise ExperimentFileError(path, "no rollbacks: every experiment must restore the stack (restore_stack)")
    extension = _extension(document, path)
    also = extension.get("also_notified") or {}
    if not isinstance(also, dict) or not all(isinstance(v, str) and v.strip() for v in also.values()):
        raise ExperimentFileError(path, "extensions.atctl.also_notified: map each alert name to the reason it may notify")
    notify = _optional_seconds(extension, "notify_within_s", "notify_reason", path)
    resolve = _optional_seconds(extension, "resolve_within_s", "resolve_reason", path)
    hold = _optional_seconds(extension, "hold_resolved_s", "hold_reason", path)
    exception = extension.get("exception")
    if exception is not None and (not isinstance(exception, str) or not exception.strip()):
        raise ExperimentFileError(path, "extensions.atctl.exception: give the reason as text")
    return Experiment(
        name=path.stem,
        path=path,
        title=str(document["title"]),
        alert=str(extension["alert"]),
        fault=str(extension["fault"]),
        document=document,
        also_notified={str(k): str(v) for k, v in also.items()},
        notify_within_s=notify,
        resolve_within_s=resolve if resolve is not None else DEFAULT_RESOLVE_WITHIN_S,
        hold_resolved_s=hold if hold is not None else DEFAULT_HOLD_RESOLVED_S,
        exception=exception.strip() if exception else None,
        touches=frozenset(_touched(document)) | frozenset(_names(extension, "touches", path)),
        needs=frozenset(_names(extension, "needs", path)) | _needed(document),
    )


def _touched(document: dict[str, Any]) -> set[str]:
    """The programs and shared things the method's and rollbacks' actions act on."""
    found = set()
    for activity in [*(document.get("method") or []), *(document.get("rollbacks") or [])]:
        provider = activity.get("provider") or {}
        func, args = provider.get("func"), provider.get("arguments") or {}
        if func in _PROGRAM_ACTIONS:
            name = args.get("name", _PROGRAM_ACTIONS[func])
            if name:
                found.add(str(name))
        elif func in _RESOURCE_ACTIONS:
            found.add(_RESOURCE_ACTIONS[func](args))
    return found


def _needed(document: dict[str, Any]) -> frozenset[str]:
    """What the method needs without saying: a signal flow watches decisions on NATS (DECISIONS)."""
    funcs = {(a.get("provider") or {}).get("func") for a in document.get("method") or []}
    return frozenset({"nats"}) if "start_signal_flow" in funcs else frozenset()


def _names(extension: dict[str, Any], key: str, path: Path) -> list[str]:
    value = extension.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ExperimentFileError(path, f"extensions.atctl.{key}: a list of program or resource names")
    return [v.strip() for v in value]


def _check_activity(path: Path, where: str, activity: Any) -> None:
    if not isinstance(activity, dict) or activity.get("type") not in ("action", "probe"):
        raise ExperimentFileError(path, f"{where}: an activity has type action or probe")
    if not activity.get("name"):
        raise ExperimentFileError(path, f"{where}: an activity needs a name")
    provider = activity.get("provider") or {}
    if provider.get("type") != "python" or not provider.get("module") or not provider.get("func"):
        raise ExperimentFileError(path, f"{where} ({activity['name']}): use a python provider with module and func")


def _extension(document: dict[str, Any], path: Path) -> dict[str, Any]:
    found = [e for e in document.get("extensions") or [] if isinstance(e, dict) and e.get("name") == EXTENSION_NAME]
    if len(found) != 1:
        raise ExperimentFileError(path, f"needs exactly one extensions entry named {EXTENSION_NAME!r} (alert, fault)")
    extension = found[0]
    unknown = sorted(set(extension) - _EXTENSION_KEYS)
    if unknown:
        raise ExperimentFileError(
            path, f"extensions.atctl: unknown key {unknown[0]!r}; known: {', '.join(sorted(_EXTENSION_KEYS))}"
        )
    for key in ("alert", "fault"):
        if not isinstance(extension.get(key), str) or not extension[key].strip():
            raise ExperimentFileError(path, f"extensions.atctl.{key}: required (text)")
    return extension


def _optional_seconds(extension: dict[str, Any], key: str, reason_key: str, path: Path) -> float | None:
    if key not in extension:
        return None
    value = extension[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ExperimentFileError(path, f"extensions.atctl.{key}: a positive number of seconds")
    reason = extension.get(reason_key)
    if not isinstance(reason, str) or not reason.strip():
        raise ExperimentFileError(path, f"extensions.atctl.{key} needs {reason_key}: say why the default budget does not hold")
    return float(value)


def default_experiments_dir() -> Path:
    """The repository's ``chaos/`` (src/agentic_trading/chaos/ is three levels down)."""
    return Path(__file__).resolve().parents[3] / "chaos"


def discover(directory: Path | None = None) -> list[Experiment]:
    """Every experiment file in ``directory``, sorted by name."""
    root = directory if directory is not None else default_experiments_dir()
    if not root.is_dir():
        raise ExperimentFileError(root, "no such directory: pass --experiments the folder holding the experiment files")
    paths = sorted(p for p in root.iterdir() if p.suffix in SUFFIXES and p.is_file())
    return [load_experiment(p) for p in paths]


def select(experiments: list[Experiment], names: list[str]) -> list[Experiment]:
    """The named experiments in the order given; raise naming every unknown one."""
    by_name = {e.name: e for e in experiments}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise UnknownExperimentError(unknown, sorted(by_name))
    return [by_name[n] for n in names]


def uncovered_alerts(experiments: list[Experiment], alerts: list[str]) -> list[str]:
    """Alerts in the rules with no experiment (an experiment with an exception counts: it says why)."""
    covered = {e.alert for e in experiments}
    return [a for a in alerts if a not in covered]
