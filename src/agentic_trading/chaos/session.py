"""The state of one experiment run, shared by the Chaos Toolkit providers it calls.

Chaos Toolkit calls each provider as a plain function; the providers of
:mod:`~agentic_trading.chaos.actions` and :mod:`~agentic_trading.chaos.probes` find the stack, the marks (fault and repair
times), the measurements and the undo list of active faults through :func:`current`.
Every fault registers how to undo itself; :meth:`Session.undo_all` (the rollback, and
the runner's own ``finally``) undoes whatever is still active, last first.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from agentic_trading.chaos._loop import BackgroundLoop
from agentic_trading.chaos.errors import ChaosError
from agentic_trading.chaos.experiment import Experiment
from agentic_trading.chaos.measure import Observation
from agentic_trading.chaos.neighbours import Neighbour, neighbours_of
from agentic_trading.chaos.observe import AlertPath
from agentic_trading.chaos.signals import SignalFlow
from agentic_trading.settings import Settings
from agentic_trading.stack import Stack
from agentic_trading.web_access import web_client_options

Progress = Callable[[str], None]


@dataclass
class Session:
    stack: Stack
    experiment: Experiment
    progress: Progress = lambda message: None
    http: httpx.Client = field(default=None)  # type: ignore[assignment]  # built from the stack's settings
    loop: BackgroundLoop = field(default_factory=BackgroundLoop)
    observation: Observation = field(default_factory=Observation)
    started_at: float = field(default_factory=time.time)
    fault_at: float | None = None
    repaired_at: float | None = None
    fault_description: str = ""
    flow: SignalFlow | None = None
    fired: dict[str, Any] | None = None  # the firing notification of the experiment's alert
    extras: dict[str, Any] = field(default_factory=dict)  # fault handles (flood, proxy, …)
    inconclusive: str | None = None  # the fault could not be applied in full (a busy machine): why
    alongside: dict[str, frozenset[str]] = field(default_factory=dict)  # neighbour -> alerts tolerated
    _undo: list[tuple[str, Callable[[], object]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.http is None:
            self.http = web_client(self.stack.settings) if self.stack is not None else httpx.Client(timeout=5.0)

    def neighbours(self, since: float | None = None) -> list[Neighbour]:
        """Experiments of a concurrent run that ran alongside this one since ``since`` (default: now).

        Each one seen is remembered with its declared alerts, for the result to name.
        """
        now = time.time()
        found = neighbours_of(self.experiment.name, since if since is not None else now, now)
        for neighbour in found:
            self.alongside[neighbour.name] = neighbour.declared
        return found

    def programs_to_check(self) -> list[str] | None:
        """Programs whose health this experiment checks: all (None), less those a running neighbour's fault acts on."""
        busy = {program for n in self.neighbours() for program in n.touches}
        if not busy:
            return None
        return [info.name for info in self.stack.supervisor.info() if info.name not in busy]

    @property
    def alert_path(self) -> AlertPath:
        return AlertPath(self.stack.settings, self.http)

    @property
    def tag(self) -> str:
        """Names kernel rules and cgroups of this stack's experiments (for cleanup after a crash)."""
        return f"{self.stack.settings.port_offset}-"

    def mark_fault(self, description: str) -> None:
        if self.fault_at is None:
            self.fault_at = time.time()
            self.fault_description = description
        self.progress(f"fault: {description}")

    def mark_repair(self, description: str) -> None:
        self.repaired_at = time.time()
        self.progress(f"repair: {description}")

    def problem(self, message: str) -> None:
        self.observation.problems.append(message)
        self.progress(f"[red]✗[/] {message}")

    def on_undo(self, key: str, undo: Callable[[], object]) -> None:
        """Register how to undo an active fault (replaces an earlier one with the same key)."""
        self._undo = [(k, u) for k, u in self._undo if k != key]
        self._undo.append((key, undo))

    def undo(self, key: str) -> bool:
        """Undo one active fault now; False when none is registered under ``key``."""
        for index, (k, undo) in enumerate(self._undo):
            if k == key:
                del self._undo[index]
                undo()
                return True
        return False

    def undo_all(self) -> list[str]:
        """Undo every active fault, last first; return the failures (each is also a problem)."""
        failures = []
        while self._undo:
            key, undo = self._undo.pop()
            try:
                undo()
            except Exception as exc:  # noqa: BLE001 - every undo must be tried; each failure is reported
                failures.append(f"undo {key}: {exc}")
        for failure in failures:
            self.problem(failure)
        return failures

    def close(self) -> None:
        if self.flow is not None:
            self.flow.close()
            self.flow = None
        self.loop.close()
        self.http.close()


def web_client(settings: Settings) -> httpx.Client:
    """The experiment's HTTP client: it carries the stack's web credentials, like every atctl command."""
    return httpx.Client(timeout=5.0, **web_client_options(settings))


_current: Session | None = None


def current() -> Session:
    if _current is None:
        raise ChaosError("no experiment is running: run experiment files with `atctl chaos run`")
    return _current


@contextmanager
def active(session: Session) -> Iterator[Session]:
    global _current
    previous, _current = _current, session
    try:
        yield session
    finally:
        _current = previous


@contextmanager
def sigint_deferred() -> Iterator[None]:
    """A Ctrl-C arriving inside the block is raised when it ends: a fault call is never cut in half.

    A supervisord stop interrupted mid-call still completes in supervisord, after the rollback
    looked and saw the program running: the program was left stopped. Deferred, the stop
    returns first and the rollback then finds it stopped and starts it.
    """
    caught: list[int] = []
    with sigint_handled(lambda signum, frame: caught.append(signum)):
        yield
    if caught:
        raise KeyboardInterrupt


@contextmanager
def sigint_handled(handler: Any) -> Iterator[None]:
    """``handler`` (a function or ``signal.SIG_IGN``) takes SIGINT inside the block; the previous one after.

    Outside the main thread no signal arrives, and Python refuses to install one: the block just runs.
    """
    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
