"""The programs a local stack supervises: the one table of names, commands, probes and URLs.

Program names are contracts: ``atctl stop/kill/pause NAME``, the chaos experiments and
the process exporter all refer to programs by these names.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentic_trading.settings import AGENT_TYPES, Settings
from agentic_trading.stack.errors import MissingRequirementError, UnknownProgramError
from agentic_trading.stack.health import HttpProbe, NoProbe, Probe, RedisProbe
from agentic_trading.stack.paths import StackPaths

if TYPE_CHECKING:  # written by the observability work; imported lazily at render time
    from agentic_trading.stack.observability import ObservabilityFiles

OBSERVABILITY_MODULE = "agentic_trading.stack.observability"
# Debian puts some daemons in sbin, which is not on every user's PATH.
_EXTRA_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Start order: infrastructure, then everything that talks to it, then the canary that probes
# it, then what watches it, then load. The canary starts once the services are healthy and
# stops before them: a canary signal sent while the orchestrator or the agents were still
# starting on a busy machine went undecided for 10 s and paged CanarySignalsUndecided a few
# seconds after `atctl up`. Prometheus and Alertmanager start once the services and the
# canary are healthy, and stop before them: a first scrape of a service still starting (or
# already stopping) is up == 0, which paged GatewayDown/AgentDown on every `atctl up` and
# `atctl down`.
TIER_INFRASTRUCTURE = 0
TIER_SERVICES = 1
TIER_PROBES = 2
TIER_WATCHERS = 3
TIER_DEMO = 4


@dataclass
class ProgramContext:
    """What a command builder needs: settings, paths, the interpreter, rendered observability files."""

    settings: Settings
    paths: StackPaths
    python: str = field(default_factory=lambda: sys.executable)
    observability: ObservabilityFiles | None = None
    redis_exporter_password_file: Path | None = None  # written by render_stack (stack/access.py)

    def observability_files(self) -> ObservabilityFiles:
        if self.observability is None:
            raise RuntimeError("observability files not rendered yet (render_stack renders them first)")
        return self.observability


CommandBuilder = Callable[[ProgramContext], list[str]]


@dataclass(frozen=True)
class Program:
    name: str
    command: CommandBuilder
    probe: Probe
    url: Callable[[Settings], str]
    ports: tuple[str, ...] = ()  # components (Settings.port names) the program listens on
    tier: int = TIER_SERVICES
    binary: str | None = None  # executable that must be installed (scripts/bootstrap.sh installs it)
    module: str | None = None  # Python module that must exist (run with -m, or provides the command)
    data: str | None = None  # data/<data>/ directory the program owns
    demo: bool = False  # only started by `atctl up --demo`
    startsecs: int = 1
    # Writes and rotates logs/<name>.log itself (AT_LOG_FILE, telemetry/log_file.py) instead of
    # printing lines for supervisord to copy: every Python program of ours.
    writes_own_log: bool = False

    @property
    def priority(self) -> int:
        return 10 + 100 * self.tier

    def missing(self) -> str | None:
        """What is missing to run this program, or None when it can run."""
        if self.binary is not None and resolve_binary(self.binary) is None:
            return f"binary {self.binary!r} is not installed: run scripts/bootstrap.sh"
        if self.module is not None and not module_is_runnable(self.module):
            return f"Python module {self.module} does not exist yet"
        return None


def resolve_binary(name: str) -> str | None:
    """Absolute path of an executable, looking in sbin too."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    return shutil.which(name, path=os.environ.get("PATH", "") + os.pathsep + _EXTRA_PATH)


def module_is_runnable(module: str) -> bool:
    """True when ``python -m module`` would find something to run (a module, or a package's __main__)."""
    try:
        spec = importlib.util.find_spec(module)
        if spec is None:
            return False
        if spec.submodule_search_locations is not None:
            return importlib.util.find_spec(f"{module}.__main__") is not None
    except (ImportError, ValueError):
        return False
    return True


def _binary_path(name: str) -> str:
    path = resolve_binary(name)
    if path is None:
        raise MissingRequirementError(f"binary {name!r} is not installed: run scripts/bootstrap.sh")
    return path


def _python_module(module: str, *args: str) -> CommandBuilder:
    def build(ctx: ProgramContext) -> list[str]:
        return [ctx.python, "-m", module, *args]

    return build


def _nats(ctx: ProgramContext) -> list[str]:
    return [_binary_path("nats-server"), "-c", str(ctx.paths.config_file("nats.conf"))]


def _redis(ctx: ProgramContext) -> list[str]:
    return [_binary_path("redis-server"), str(ctx.paths.config_file("redis.conf"))]


def _observability() -> Any:
    return importlib.import_module(OBSERVABILITY_MODULE)


def _prometheus(ctx: ProgramContext) -> list[str]:
    command: list[str] = _observability().prometheus_command(
        ctx.settings, ctx.observability_files(), ctx.paths.data_dir("prometheus")
    )
    return command


def _alertmanager(ctx: ProgramContext) -> list[str]:
    command: list[str] = _observability().alertmanager_command(
        ctx.settings, ctx.observability_files(), ctx.paths.data_dir("alertmanager")
    )
    return command


def _redis_exporter(ctx: ProgramContext) -> list[str]:
    command: list[str] = _observability().redis_exporter_command(ctx.settings, ctx.redis_exporter_password_file)
    return command


def _http_url(component: str, suffix: str = "") -> Callable[[Settings], str]:
    return lambda settings: settings.url(component) + suffix


def _python_service(name: str, module: str, *args: str, metrics_only: bool = False, tier: int = TIER_SERVICES) -> Program:
    """One of our services, run with ``python -m module``, listening on the port named ``name``.

    Probed on ``/healthz`` (its URL is the base); an exporter (``metrics_only``) has no
    ``/healthz``, so it is probed on ``/metrics`` and its URL is that page.
    """
    path = "/metrics" if metrics_only else "/healthz"
    return Program(
        name=name,
        command=_python_module(module, *args),
        probe=HttpProbe(name, path),
        url=_http_url(name, path if metrics_only else ""),
        ports=(name,),
        tier=tier,
        module=module,
        writes_own_log=True,
    )


def _watcher(name: str, command: CommandBuilder, binary: str) -> Program:
    """Prometheus or Alertmanager: a Debian daemon whose config and command stack/observability.py renders."""
    return Program(
        name=name,
        command=command,
        probe=HttpProbe(name, "/-/ready"),
        url=_http_url(name),
        ports=(name,),
        tier=TIER_WATCHERS,
        binary=binary,
        module=OBSERVABILITY_MODULE,
        data=name,
    )


PROGRAMS: tuple[Program, ...] = (
    Program(
        name="nats",
        command=_nats,
        probe=HttpProbe("nats-monitor", "/healthz"),
        url=lambda s: s.nats_url,
        ports=("nats", "nats-monitor"),
        tier=TIER_INFRASTRUCTURE,
        binary="nats-server",
        data="nats",
    ),
    Program(
        name="redis",
        command=_redis,
        probe=RedisProbe("redis"),
        url=lambda s: s.redis_url,
        ports=("redis",),
        tier=TIER_INFRASTRUCTURE,
        binary="redis-server",
        data="redis",
    ),
    _python_service("gateway", "agentic_trading.gateway"),
    *(_python_service(f"agent-{agent_type}", "agentic_trading.agents", agent_type) for agent_type in AGENT_TYPES),
    _python_service("orchestrator", "agentic_trading.orchestrator"),
    _python_service("receiver", "agentic_trading.receiver"),
    _python_service("nats-exporter", "agentic_trading.exporters.nats", metrics_only=True),
    _python_service("process-exporter", "agentic_trading.exporters.processes", metrics_only=True),
    Program(
        name="redis-exporter",
        command=_redis_exporter,
        probe=HttpProbe("redis-exporter", "/metrics"),
        url=_http_url("redis-exporter", "/metrics"),
        ports=("redis-exporter",),
        binary="prometheus-redis-exporter",
        module=OBSERVABILITY_MODULE,
    ),
    _watcher("prometheus", _prometheus, "prometheus"),
    _watcher("alertmanager", _alertmanager, "prometheus-alertmanager"),
    _python_service("dashboards", "agentic_trading.dashboards"),
    _python_service("canary", "agentic_trading.canary", tier=TIER_PROBES),
    # Demo programs: started only by `atctl up --demo`. Add more here.
    Program(
        name="traffic",
        command=_python_module("agentic_trading.load"),
        probe=NoProbe(),
        url=lambda s: "",
        tier=TIER_DEMO,
        module="agentic_trading.load",
        demo=True,
        writes_own_log=True,
    ),
)

PROGRAM_NAMES: tuple[str, ...] = tuple(p.name for p in PROGRAMS)
DEMO_PROGRAM_NAMES: tuple[str, ...] = tuple(p.name for p in PROGRAMS if p.demo)
_BY_NAME = {p.name: p for p in PROGRAMS}


def get_program(name: str) -> Program:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownProgramError(name, PROGRAM_NAMES) from None


def select_programs(names: Iterable[str] | None = None, *, demo: bool = False) -> list[Program]:
    """The programs to run, in table order: ``names`` when given, else every non-demo one (+ demo)."""
    if names is not None:
        wanted = {get_program(name).name for name in names}
        if demo:
            wanted.update(DEMO_PROGRAM_NAMES)
        return [p for p in PROGRAMS if p.name in wanted]
    return [p for p in PROGRAMS if demo or not p.demo]


def available_programs(*, demo: bool = False) -> list[Program]:
    """The programs whose binary and module exist now (tests use this while the project grows)."""
    return [p for p in select_programs(demo=demo) if p.missing() is None]


def check_requirements(programs: Sequence[Program]) -> None:
    """Raise one error naming every program that cannot run, and how to proceed."""
    problems = {p.name: why for p in programs if (why := p.missing()) is not None}
    if not problems:
        return
    lines = "; ".join(f"{name}: {why}" for name, why in problems.items())
    hints = []
    if any(_BY_NAME[name].binary and "binary" in why for name, why in problems.items()):
        hints.append("install binaries with scripts/bootstrap.sh")
    demo_missing = [name for name in problems if _BY_NAME[name].demo]
    if demo_missing:
        hints.append(f"--demo needs {', '.join(demo_missing)}: run without --demo")
    runnable = [p.name for p in programs if p.name not in problems and not p.demo]
    if runnable and len(demo_missing) < len(problems):
        hints.append(f"start the rest with --only {','.join(runnable)}")
    advice = "; ".join(hints)
    raise MissingRequirementError(f"Cannot start {lines}. {advice[:1].upper()}{advice[1:]}")


def program_ports(settings: Settings, programs: Iterable[Program]) -> dict[int, str]:
    """port -> component, for every port the programs listen on."""
    return {settings.port(component): component for p in programs for component in p.ports}


def programs_named(names: Iterable[str]) -> list[Program]:
    """Programs of a recorded stack, in table order, ignoring names this version no longer knows."""
    wanted = set(names)
    return [p for p in PROGRAMS if p.name in wanted]
