"""Is a program doing its job? One probe per program: an HTTP GET or a Redis PING.

Probes never raise: they return a :class:`Health` saying what is wrong, because a
status table must show every component even when half of them are down.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from agentic_trading.credentials import ADMIN, read_stack_secret, redis_secret_name
from agentic_trading.settings import WEB_COMPONENTS, Settings
from agentic_trading.web_access import web_client_options

PROBE_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str  # "ok", or what is wrong ("connection refused", "HTTP 503")


class HttpProbe:
    """Healthy when GET <component url><path> answers 2xx."""

    def __init__(self, component: str, path: str):
        self.component = component
        self.path = path

    def target(self, settings: Settings) -> str:
        return settings.url(self.component) + self.path

    def check(self, settings: Settings, timeout: float = PROBE_TIMEOUT_S) -> Health:
        url = self.target(settings)
        # A secured Prometheus or Alertmanager answers /-/ready only over TLS, to its user.
        options = web_client_options(settings) if self.component in WEB_COMPONENTS else {}
        try:
            # trust_env=False: a proxy from the environment must never sit between us and loopback.
            with httpx.Client(timeout=timeout, trust_env=False, **options) as client:
                response = client.get(url)
        except httpx.TimeoutException:
            return Health(False, f"no answer within {timeout:g} s")
        except httpx.HTTPError as exc:
            return Health(False, _describe(exc))
        if 200 <= response.status_code < 300:
            return Health(True, "ok")
        return Health(False, f"HTTP {response.status_code} from {self.path}")


class RedisProbe:
    """Healthy when Redis answers PING with PONG (a TCP connect alone passes while it loads).

    Authenticates as the stack's admin user when the stack has one (anonymous PING is refused).
    """

    def __init__(self, component: str = "redis"):
        self.component = component

    def target(self, settings: Settings) -> str:
        return f"tcp://{settings.host}:{settings.port(self.component)}"

    def check(self, settings: Settings, timeout: float = PROBE_TIMEOUT_S) -> Health:
        try:
            with socket.create_connection((settings.host, settings.port(self.component)), timeout=timeout) as conn:
                password = read_stack_secret(settings.state_dir, redis_secret_name(ADMIN))
                if password:
                    conn.sendall(_resp("AUTH", ADMIN, password))
                    if not _read_line(conn).startswith(b"+OK"):
                        return Health(False, "the stack's admin credentials are refused")
                conn.sendall(b"PING\r\n")
                reply = conn.recv(64)
        except TimeoutError:
            return Health(False, f"no answer within {timeout:g} s")
        except OSError as exc:
            return Health(False, exc.strerror or type(exc).__name__)
        if reply.startswith(b"+PONG"):
            return Health(True, "ok")
        return Health(False, reply.decode(errors="replace").strip() or "empty reply")


class NoProbe:
    """For programs with nothing to ask (a load generator): healthy while supervisord says RUNNING."""

    def target(self, settings: Settings) -> str:
        return ""

    def check(self, settings: Settings, timeout: float = PROBE_TIMEOUT_S) -> Health:
        return Health(True, "running")


Probe = HttpProbe | RedisProbe | NoProbe


def _resp(*words: str) -> bytes:
    """One Redis command in RESP (binary-safe, unlike the inline form)."""
    parts = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _read_line(conn: socket.socket) -> bytes:
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        line += chunk
    return line


def check_all(settings: Settings, probes: Mapping[str, Probe]) -> dict[str, Health]:
    """Run every probe concurrently (a stack of down services answers in one timeout, not n)."""
    if not probes:
        return {}
    check: Callable[[Probe], Health] = lambda probe: probe.check(settings)  # noqa: E731
    with ThreadPoolExecutor(max_workers=min(16, len(probes))) as pool:
        results = list(pool.map(check, probes.values()))
    return dict(zip(probes, results, strict=True))


def _describe(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc.__context__
    while cause is not None and not isinstance(cause, OSError) and (cause.__cause__ or cause.__context__):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text
