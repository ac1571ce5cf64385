"""A local stack: render, start, watch, control and stop every program under supervisord.

:class:`Stack` is what ``atctl`` commands, the integration-test fixture and the chaos
experiments use::

    stack = Stack(load_settings(state_dir=tmp, port_offset=20000))
    stack.up(timeout=60)           # idempotent; returns every component's status
    stack.kill("redis")            # SIGKILL; supervisord restarts it
    stack.wait_healthy(["redis"])
    stack.down()
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from agentic_trading.alerts.shutdown import SHUTDOWN_RESOLVE_TIMEOUT_S, resolve_alerts_at_shutdown
from agentic_trading.alerts.sources import AlertSources
from agentic_trading.settings import Settings, load_settings
from agentic_trading.stack.environment import supervisord_environment
from agentic_trading.stack.errors import (
    MissingRequirementError,
    NoStackError,
    PortInUseError,
    PortOffsetError,
    ProgramFailedError,
    StackConflictError,
    StackError,
    StartTimeoutError,
    SupervisorError,
)
from agentic_trading.stack.logs import tail_lines
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.ports import (
    find_free_port_offset,
    find_port_conflicts,
    port_offset_problems,
    safe_port_offset_near,
)
from agentic_trading.stack.preflight import check_rendered_files, check_repository_rules
from agentic_trading.stack.process_state import is_paused, wait_for_exit
from agentic_trading.stack.programs import (
    OBSERVABILITY_MODULE,
    Program,
    ProgramContext,
    check_requirements,
    program_ports,
    programs_named,
    resolve_binary,
    select_programs,
)
from agentic_trading.stack.render import render_stack
from agentic_trading.stack.scrapes import wait_until_scraped
from agentic_trading.stack.state import StackRecord, load_record, replace_settings, save_record
from agentic_trading.stack.status import ComponentStatus, program_or_none, program_statuses
from agentic_trading.stack.supervisor import (
    ALIVE_STATES,
    FATAL,
    RUNNING,
    SupervisorClient,
    supervisord_command,
)
from agentic_trading.stack.webhook_secret import record_webhook_secret
from agentic_trading.web_access import web_client_options

POLL_INTERVAL_S = 0.25
SUPERVISORD_START_TIMEOUT_S = 15.0


ProgressCallback = Callable[[list["ComponentStatus"]], None]


class Stack:
    """One local stack, identified by its state directory."""

    def __init__(self, settings: Settings | None = None, *, state_dir: Path | str | None = None):
        settings = settings or load_settings()
        self.paths = StackPaths.of(state_dir if state_dir is not None else settings.state_dir)
        self.settings = replace_settings(settings, state_dir=self.paths.state_dir)
        self.supervisor = SupervisorClient.for_stack(self.paths)

    @classmethod
    def attach(cls, state_dir: Path | str | None = None, settings: Settings | None = None) -> Stack:
        """The stack recorded in ``state_dir``, with the settings it was started with.

        Raises :class:`NoStackError` when nothing was ever started there.
        """
        settings = settings or load_settings()
        paths = StackPaths.of(state_dir if state_dir is not None else settings.state_dir)
        record = load_record(paths, secret_from=settings)
        return cls(record.settings)

    # -- what the stack is ------------------------------------------------------------------

    def record(self) -> StackRecord | None:
        try:
            return load_record(self.paths, secret_from=self.settings)
        except NoStackError:
            return None

    def programs(self) -> list[Program]:
        """The programs this stack was last started with (empty before the first `up`)."""
        record = self.record()
        return programs_named(record.programs) if record else []

    def is_running(self) -> bool:
        """True when this stack's supervisord answers."""
        return self.supervisor.is_running()

    def log_file(self, name: str) -> Path:
        return self.paths.log_file(name)

    def log_tail(self, name: str, lines: int = 10) -> list[str]:
        return tail_lines(self.paths.log_file(name), lines)

    # -- up ----------------------------------------------------------------------------------

    def up(
        self,
        programs: Iterable[str] | None = None,
        *,
        demo: bool = False,
        timeout: float = 60.0,
        on_progress: ProgressCallback | None = None,
    ) -> list[ComponentStatus]:
        """Start the stack (or bring a running one to this program set) and wait until healthy.

        ``programs``: names to run (default: every program; ``demo`` adds the demo ones).
        Raises :class:`StartTimeoutError` naming the unhealthy programs after ``timeout``.
        """
        selected = select_programs(programs, demo=demo)
        check_requirements(selected)
        offset_problems = port_offset_problems(self.settings)
        if offset_problems:
            raise PortOffsetError(self.settings.port_offset, offset_problems, safe_port_offset_near(self.settings))
        running = self.supervisor.is_running()
        held: set[str] = set()
        if running:
            self._check_same_stack()
            held = {info.name for info in self.supervisor.info() if info.state in ALIVE_STATES}
        conflicts = find_port_conflicts(self.settings, selected, ignore=held)
        if conflicts:
            suggestion = find_free_port_offset(self.settings, selected)
            raise PortInUseError(conflicts, self.settings.port_offset, suggestion)
        if any(p.module == OBSERVABILITY_MODULE for p in selected):
            check_repository_rules()  # before rendering: promtool's own file:line:col for a broken rule
        context = ProgramContext(self.settings, self.paths)
        rendered = render_stack(context, selected)
        for name, command in rendered.commands.items():
            if resolve_binary(command[0]) is None:
                raise MissingRequirementError(f"{name}: {command[0]} is not installed: run scripts/bootstrap.sh")
        if context.observability is not None:
            check_rendered_files(context.observability)
        save_record(self.paths, StackRecord(self.settings, [p.name for p in selected], demo=demo))
        if running:
            self._apply_config()
            for name in rendered.changed & held:
                self.supervisor.stop(name, wait=True)  # started again below, with the new config
        else:
            record_webhook_secret(self.paths, self.settings)  # what supervisord's environment gets
            self._start_supervisord()
        deadline = time.monotonic() + timeout
        statuses = self._start_programs(selected, timeout, on_progress)
        if any(p.name == "prometheus" for p in selected):  # so `atctl verify` right after passes
            pending = wait_until_scraped(
                self.settings.url("prometheus"),
                program_ports(self.settings, selected),
                deadline,
                http_options=web_client_options(self.settings),
            )
            if pending:
                raise StartTimeoutError({"prometheus": "not scraped yet: " + "; ".join(pending)}, timeout, self.paths.log_dir)
        return statuses

    def _check_same_stack(self) -> None:
        record = self.record()
        if record is None:
            return
        diffs = record.differences(self.settings)
        if diffs:
            raise StackConflictError(
                f"A stack with other ports already runs in {self.paths.state_dir} ({'; '.join(diffs)}): "
                f"run `atctl down --state-dir {self.paths.state_dir}` first, or use another --state-dir"
            )

    def _apply_config(self) -> None:
        """`supervisorctl update`: add new programs, restart changed ones, remove dropped ones."""
        added, changed, removed = self.supervisor.reload_config()
        for name in removed + changed:
            self.supervisor.stop(name, wait=True)
            self.supervisor.remove_program(name)
        for name in added + changed:
            self.supervisor.add_program(name)

    def _start_supervisord(self) -> None:
        # Settings from supervisord.conf; the webhook secret in supervisord's environment only,
        # handed on to the gateway alone (stack/environment.py).
        env = supervisord_environment(self.settings)
        command = [*supervisord_command(), "-c", str(self.paths.supervisord_conf)]
        try:
            result = subprocess.run(
                command,
                env=env,
                cwd=self.paths.state_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=SUPERVISORD_START_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SupervisorError(f"Could not run supervisord ({exc}): reinstall with scripts/bootstrap.sh") from exc
        if result.returncode != 0:
            output = result.stdout.decode(errors="replace").strip()
            raise SupervisorError(f"supervisord refused to start: {output}. Config: {self.paths.supervisord_conf}")
        deadline = time.monotonic() + SUPERVISORD_START_TIMEOUT_S
        while not self.supervisor.is_running():
            if time.monotonic() >= deadline:
                tail = " | ".join(tail_lines(self.paths.supervisord_log, 5))
                raise SupervisorError(f"supervisord did not answer on {self.paths.socket}: {tail}")
            time.sleep(POLL_INTERVAL_S)

    def _start_programs(
        self, selected: Sequence[Program], timeout: float, on_progress: ProgressCallback | None
    ) -> list[ComponentStatus]:
        deadline = time.monotonic() + timeout
        statuses: list[ComponentStatus] = []
        for tier in sorted({p.tier for p in selected}):
            tier_names = [p.name for p in selected if p.tier == tier]
            for name in tier_names:
                self.supervisor.start(name, wait=False)
            statuses = self._wait_healthy(tier_names, deadline, timeout, on_progress)
        return statuses

    # -- watching ----------------------------------------------------------------------------

    def status(self) -> list[ComponentStatus]:
        """Every program supervisord knows: state, pid, uptime, health (probes run concurrently)."""
        return program_statuses(self.settings, self.supervisor.info())

    def wait_healthy(
        self,
        names: Iterable[str] | None = None,
        timeout: float = 30.0,
        on_progress: ProgressCallback | None = None,
    ) -> list[ComponentStatus]:
        """Poll until the named programs (default: all) are healthy; raise after ``timeout``."""
        wanted = list(names) if names is not None else [info.name for info in self.supervisor.info()]
        return self._wait_healthy(wanted, time.monotonic() + timeout, timeout, on_progress)

    def _wait_healthy(
        self, names: Sequence[str], deadline: float, timeout: float, on_progress: ProgressCallback | None
    ) -> list[ComponentStatus]:
        wanted = set(names)
        while True:
            statuses = self.status()
            if on_progress is not None:
                on_progress(statuses)
            pending = [s for s in statuses if s.name in wanted and not s.healthy]
            missing = wanted - {s.name for s in statuses}
            if missing:
                raise SupervisorError(f"supervisord does not know {', '.join(sorted(missing))}: run `atctl up`")
            if not pending:
                return statuses
            failed = {s.name: s.health for s in pending if s.state == FATAL}
            if failed:
                raise ProgramFailedError(failed, self.paths.log_dir)
            if time.monotonic() >= deadline:
                raise StartTimeoutError({s.name: s.health for s in pending}, timeout, self.paths.log_dir)
            time.sleep(POLL_INTERVAL_S)

    # -- control -----------------------------------------------------------------------------

    def stop(self, name: str) -> None:
        """Stop a program (SIGTERM, SIGKILL after 10 s); supervisord does not restart it."""
        self._resume_if_paused(name)
        self.supervisor.stop(name, wait=True)

    def start(self, name: str, timeout: float = 30.0) -> ComponentStatus:
        """Start a program and wait until it is healthy."""
        self.supervisor.start(name, wait=False)
        return self._status_of(name, self.wait_healthy([name], timeout))

    def restart(self, name: str, timeout: float = 30.0) -> ComponentStatus:
        self.stop(name)
        return self.start(name, timeout)

    def kill(self, name: str, timeout: float = 5.0) -> int:
        """SIGKILL a program, as a crash would: supervisord restarts it. Returns the pid killed.

        Returns once supervisord has seen the death, so a following ``wait_healthy`` waits
        for the new process rather than reading the old one's state.
        """
        pid = self.supervisor.info(name)[0].pid
        self.supervisor.signal(name, "KILL")
        deadline = time.monotonic() + timeout
        while True:
            info = self.supervisor.info(name)[0]
            if info.pid != pid or info.state != RUNNING:
                return pid
            if time.monotonic() >= deadline:
                raise SupervisorError(f"supervisord still reports {name} as pid {pid} {timeout:g} s after SIGKILL")
            time.sleep(0.05)

    def pause(self, name: str) -> None:
        """SIGSTOP: the process hangs (holds its sockets, answers nothing) until resumed."""
        self.supervisor.signal(name, "STOP")

    def resume(self, name: str) -> None:
        """SIGCONT a paused program."""
        self.supervisor.signal(name, "CONT")

    def _resume_if_paused(self, name: str) -> None:
        info = self.supervisor.info(name)[0]
        if info.state == RUNNING and is_paused(info.pid):
            self.supervisor.signal(name, "CONT")

    @staticmethod
    def _status_of(name: str, statuses: Sequence[ComponentStatus]) -> ComponentStatus:
        return next(s for s in statuses if s.name == name)

    # -- down --------------------------------------------------------------------------------

    def down(self, purge: bool = False, timeout: float = 60.0) -> bool:
        """Stop every program (demo, then watchers, then services, then NATS and Redis), then supervisord.

        Prometheus stops first, and every alert still open is resolved at the receiver
        (alerts/shutdown.py), so no record stays `firing` across a restart.

        Data stays unless ``purge``. Returns False when nothing was running (not an error).
        """
        was_running = self.supervisor.is_running()
        if was_running:
            self._stop_all(time.monotonic() + timeout)
            pid = self.supervisor.pid()
            self.supervisor.shutdown()
            wait_for_exit(pid, timeout, f"supervisord (pid {pid}) of {self.paths.state_dir}")
        if purge:
            self.purge()
        return was_running

    def _stop_all(self, deadline: float) -> None:
        infos = self.supervisor.info()
        for info in infos:
            if info.state == RUNNING and is_paused(info.pid):
                self.supervisor.signal(info.name, "CONT")
        self._end_open_alerts({info.name for info in infos if info.state == RUNNING})
        tiers: dict[int, list[str]] = {}
        for info in infos:
            program = program_or_none(info.name)
            tiers.setdefault(program.tier if program else 1, []).append(info.name)
        for tier in sorted(tiers, reverse=True):
            for name in tiers[tier]:
                self.supervisor.stop(name, wait=False)
            while True:
                alive = [i.name for i in self.supervisor.info() if i.name in tiers[tier] and i.state in ALIVE_STATES]
                if not alive:
                    break
                if time.monotonic() >= deadline:
                    raise SupervisorError(f"Still stopping after the deadline: {', '.join(alive)}; try `atctl down` again")
                time.sleep(POLL_INTERVAL_S)

    def _end_open_alerts(self, running: set[str]) -> None:
        """Stop Prometheus, then resolve every open alert at the receiver (alerts/shutdown.py)."""
        if not {"prometheus", "alertmanager", "receiver"} <= running:
            return
        record = self.record()  # `atctl down` is not told the port offset: the stack's own ports
        settings = record.settings if record is not None else self.settings
        self.supervisor.stop("prometheus", wait=True)
        resolve_alerts_at_shutdown(AlertSources.of(settings), SHUTDOWN_RESOLVE_TIMEOUT_S)

    def purge(self) -> None:
        """Delete the state directory (configs, data, logs); only when it is a stack's and stopped."""
        if not self.paths.state_dir.exists():
            return
        if self.supervisor.is_running():
            raise StackError(f"The stack in {self.paths.state_dir} is running: `atctl down` first")
        if not self.paths.looks_like_stack():
            raise StackError(
                f"{self.paths.state_dir} does not look like an atctl state directory (no stack.json): not deleting it"
            )
        shutil.rmtree(self.paths.state_dir)

    @contextmanager
    def running(
        self, programs: Iterable[str] | None = None, *, demo: bool = False, timeout: float = 60.0, purge: bool = False
    ) -> Iterator[Stack]:
        """``with Stack(settings).running(): ...``: up on entry, down on exit (even on failure)."""
        try:
            self.up(programs, demo=demo, timeout=timeout)
            yield self
        finally:
            self.down(purge=purge)
