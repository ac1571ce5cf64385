"""A small client for the stack's supervisord, over XML-RPC on its unix socket.

Every supervisord fault becomes a :mod:`agentic_trading.stack.errors` exception whose
message says what to do; a socket nobody answers on becomes :class:`NoStackError`.
"""

from __future__ import annotations

import http.client
import socket
import sys
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supervisor.xmlrpc import Faults, SupervisorTransport

from agentic_trading.stack.errors import NoStackError, SupervisorError, UnknownProgramError
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.programs import resolve_binary

RPC_TIMEOUT_S = 30.0

# supervisord process states, as getProcessInfo()["statename"] spells them.
RUNNING = "RUNNING"
STARTING = "STARTING"
BACKOFF = "BACKOFF"
STOPPING = "STOPPING"
STOPPED = "STOPPED"
EXITED = "EXITED"
FATAL = "FATAL"
UNKNOWN = "UNKNOWN"
ALIVE_STATES = frozenset({RUNNING, STARTING, BACKOFF, STOPPING})


@dataclass(frozen=True)
class ProcessInfo:
    """One program as supervisord sees it."""

    name: str
    state: str
    pid: int  # 0 when not running
    start: int  # epoch seconds of the last start, 0 if never
    now: int
    description: str
    spawnerr: str
    exitstatus: int

    @classmethod
    def from_rpc(cls, raw: dict[str, Any]) -> ProcessInfo:
        return cls(
            name=raw["name"],
            state=raw["statename"],
            pid=int(raw["pid"]),
            start=int(raw["start"]),
            now=int(raw["now"]),
            description=raw.get("description", ""),
            spawnerr=raw.get("spawnerr", ""),
            exitstatus=int(raw.get("exitstatus", 0)),
        )

    @property
    def uptime_s(self) -> int | None:
        return self.now - self.start if self.state == RUNNING and self.start else None


class _TimeoutUnixConnection(http.client.HTTPConnection):
    """supervisor's UnixStreamHTTPConnection, but with a timeout (it has none)."""

    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class SupervisorClient:
    """start/stop/restart/signal/info/shutdown for the programs of one stack."""

    def __init__(self, socket_path: Path, state_dir: Path | None = None, timeout: float = RPC_TIMEOUT_S):
        self.socket_path = Path(socket_path)
        self.state_dir = state_dir or self.socket_path.parent
        self.timeout = timeout

    def _proxy(self) -> tuple[xmlrpc.client.ServerProxy, SupervisorTransport]:
        # A fresh connection per call: supervisor's transport keeps a broken one after a failure.
        transport = SupervisorTransport(None, None, serverurl=f"unix://{self.socket_path}")
        transport._get_connection = lambda: _TimeoutUnixConnection(str(self.socket_path), self.timeout)  # type: ignore[attr-defined]
        return xmlrpc.client.ServerProxy("http://localhost", transport=transport), transport

    @classmethod
    def for_stack(cls, paths: StackPaths, timeout: float = RPC_TIMEOUT_S) -> SupervisorClient:
        return cls(paths.socket, paths.state_dir, timeout)

    def _call(self, method: str, *args: Any, name: str | None = None) -> Any:
        proxy, transport = self._proxy()
        try:
            return getattr(proxy.supervisor, method)(*args)
        except xmlrpc.client.Fault as fault:
            raise self._translate(fault, method, name) from fault
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NoStackError(self.state_dir, "supervisord is not running") from exc
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            raise SupervisorError(
                f"supervisord at {self.socket_path} did not answer {method}: {exc}. See {self.state_dir / 'supervisord.log'}"
            ) from exc
        finally:
            transport.close()

    def _translate(self, fault: xmlrpc.client.Fault, method: str, name: str | None) -> Exception:
        code = fault.faultCode
        if code == Faults.BAD_NAME and name is not None:
            return UnknownProgramError(name, [p.name for p in self.info()])
        if code == Faults.NOT_RUNNING and name is not None:
            return SupervisorError(f"{name} is not running: start it with `atctl start {name}`")
        if code in (Faults.SPAWN_ERROR, Faults.ABNORMAL_TERMINATION) and name is not None:
            return SupervisorError(f"{name} failed to start ({fault.faultString}): see its log with `atctl logs {name}`")
        if code == Faults.SHUTDOWN_STATE:
            return SupervisorError("supervisord is shutting down: wait for `atctl down` to finish, then `atctl up`")
        return SupervisorError(f"supervisord refused {method}({name or ''}): {fault.faultString}")

    # -- queries -----------------------------------------------------------------------------

    def is_running(self) -> bool:
        """True when supervisord answers on the socket."""
        try:
            state = self._call("getState")
        except (NoStackError, SupervisorError):
            return False
        return bool(state.get("statename") in ("RUNNING", "RESTARTING"))

    def pid(self) -> int:
        return int(self._call("getPID"))

    def info(self, name: str | None = None) -> list[ProcessInfo]:
        """Every program's info, or just ``name``'s."""
        if name is not None:
            return [ProcessInfo.from_rpc(self._call("getProcessInfo", name, name=name))]
        return [ProcessInfo.from_rpc(raw) for raw in self._call("getAllProcessInfo")]

    # -- control -----------------------------------------------------------------------------

    def start(self, name: str, wait: bool = False) -> None:
        """Start a program; already running is fine."""
        self._call_unless("startProcess", name, wait, already=Faults.ALREADY_STARTED)

    def stop(self, name: str, wait: bool = True) -> None:
        """Stop a program; already stopped is fine."""
        self._call_unless("stopProcess", name, wait, already=Faults.NOT_RUNNING)

    def _call_unless(self, method: str, name: str, wait: bool, *, already: int) -> None:
        """``method(name, wait)``; the fault ``already`` (the program is in that state) is success."""
        try:
            self._call(method, name, wait, name=name)
        except SupervisorError as exc:
            if isinstance(exc.__cause__, xmlrpc.client.Fault) and exc.__cause__.faultCode == already:
                return
            raise

    def restart(self, name: str) -> None:
        self.stop(name, wait=True)
        self.start(name, wait=False)

    def signal(self, name: str, signal_name: str) -> None:
        """Send a signal (``"STOP"``, ``"CONT"``, ``"KILL"``, …) to a running program."""
        self._call("signalProcess", name, signal_name, name=name)

    def shutdown(self) -> None:
        self._call("shutdown")

    def reload_config(self) -> tuple[list[str], list[str], list[str]]:
        """Re-read supervisord.conf: (added, changed, removed) program names."""
        result = self._call("reloadConfig")
        added, changed, removed = result[0]
        return list(added), list(changed), list(removed)

    def add_program(self, name: str) -> None:
        self._call("addProcessGroup", name, name=name)

    def remove_program(self, name: str) -> None:
        self._call("removeProcessGroup", name, name=name)


def supervisord_command() -> list[str]:
    """The venv's supervisord (beside this Python), else one on PATH, else the module."""
    beside = Path(sys.executable).parent / "supervisord"
    if beside.exists():
        return [str(beside)]
    found = resolve_binary("supervisord")
    return [found] if found else [sys.executable, "-m", "supervisor.supervisord"]
