"""Security: is every control surface closed to a stranger? Probes that try what an attacker would.

Each probe is harmless when the door is open: an anonymous Redis ``PING``, an anonymous NATS
``CONNECT`` + ``PING``, Prometheus' ``POST /-/reload`` (the lifecycle API's harmless twin of
``/-/quit``: both are on or off together, and reloading an unchanged config changes nothing),
an *invalid* silence posted to Alertmanager (400 when anyone may silence, 401 behind basic
auth: nothing is ever created), and a request with too many headers to the gateway. The
process-environment check reads ``/proc`` and only runs against the local stack.

``ctx.http`` carries the stack's credentials to Prometheus and Alertmanager
(``web_access``); the stranger's probes drop them (``auth=None``), the lifecycle probe keeps
them, so that it sees whether the API itself is off rather than a 401 from basic auth.
"""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from agentic_trading.credentials import SECRET_VARIABLE_HOLDERS, SECRETS_DIR
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.model import Outcome
from agentic_trading.verify.posture import is_loopback

SOCKET_TIMEOUT_S = 3.0
# More headers than any gateway limit allows (AT_MAX_HEADER_COUNT is at least 8, 64 by default).
HEADER_FLOOD = 200
STACK_STATE_VARIABLE = "AT_STATE_DIR"
PROGRAM_VARIABLE = "SUPERVISOR_PROCESS_NAME"  # set by supervisord in each child's environment


def _host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def _exchange(host: str, port: int, payload: bytes, *, greeting: bool = False) -> bytes:
    """Send ``payload`` (after reading a greeting line when the server sends one); the first reply lines."""
    with socket.create_connection((host, port), timeout=SOCKET_TIMEOUT_S) as conn:
        conn.settimeout(SOCKET_TIMEOUT_S)
        reader = conn.makefile("rb")
        if greeting:
            reader.readline()
        conn.sendall(payload)
        return reader.readline()


def redis_anonymous(ctx: VerifyContext) -> Outcome:
    if not ctx.endpoints.redis:
        return Outcome.skipped("no --redis-url given")
    host, port = _host_port(ctx.endpoints.redis, 6379)
    reproduce = f"redis-cli -h {host} -p {port} PING"
    try:
        reply = _exchange(host, port, b"PING\r\n")
    except OSError as exc:
        return Outcome.failed(f"Redis at {host}:{port} did not answer: {exc}", reproduce)
    if reply.startswith((b"-NOAUTH", b"-NOPERM", b"-WRONGPASS")):
        return Outcome.passed("an anonymous PING is refused (NOAUTH)", reproduce)
    return Outcome.failed(
        f"Redis answers anyone: an anonymous PING got {reply.strip().decode(errors='replace')!r}; "
        "anyone who reaches it can read, delete or reconfigure everything: `atctl up` renders ACL users "
        "(a default user nobody can authenticate as)",
        reproduce,
    )


def nats_anonymous(ctx: VerifyContext) -> Outcome:
    if not ctx.endpoints.nats:
        return Outcome.skipped("no --nats-url given")
    host, port = _host_port(ctx.endpoints.nats, 4222)
    reproduce = f"nats --server nats://{host}:{port} server ping  # without --user"
    connect = b'CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nPING\r\n'
    try:
        reply = _exchange(host, port, connect, greeting=True)
    except OSError as exc:
        return Outcome.failed(f"NATS at {host}:{port} did not answer: {exc}", reproduce)
    if reply.startswith(b"-ERR") and b"Authorization" in reply:
        return Outcome.passed("an anonymous NATS client is refused (Authorization Violation)", reproduce)
    return Outcome.failed(
        f"NATS accepts anonymous clients (answered {reply.strip().decode(errors='replace')!r}): anyone who "
        "reaches it can read every stream and publish signals; `atctl up` renders one user per service",
        reproduce,
    )


def prometheus_lifecycle(ctx: VerifyContext) -> Outcome:
    url = f"{ctx.endpoints.prometheus}/-/reload"
    reproduce = f"curl -s -X POST {url}"
    response = ctx.http.post(url)
    if response.status_code in (401, 403):
        return Outcome.passed(f"the lifecycle API is refused ({response.status_code}: {response.text.strip()[:60]})", reproduce)
    return Outcome.failed(
        f"Prometheus' lifecycle API answers (POST /-/reload: HTTP {response.status_code}), so anyone who reaches it "
        "can POST /-/quit and stop it: drop --web.enable-lifecycle",
        reproduce,
    )


def _exposed(ctx: VerifyContext, url: str) -> bool:
    """Off loopback: the URL's host is, or the local stack binds Prometheus and Alertmanager beyond it."""
    if not is_loopback(urlsplit(url).hostname or ""):
        return True
    return ctx.settings is not None and not is_loopback(ctx.settings.web_bind_host)


def _refused_or_on_loopback(ctx: VerifyContext, base_url: str, status: int, reproduce: str, *, open_: str, fix: str) -> Outcome:
    """A stranger's request to Prometheus or Alertmanager: refused passes, open passes on loopback only."""
    if status in (401, 403):
        return Outcome.passed(f"an unauthenticated request is refused ({status})", reproduce)
    if not _exposed(ctx, base_url):
        return Outcome.passed(f"{open_}, on loopback only", reproduce)
    return Outcome.failed(f"{fix} (HTTP {status} unauthenticated, off loopback): give it basic auth (--web.config.file) "
                          "or bind it to loopback", reproduce)  # fmt: skip


def prometheus_read_api(ctx: VerifyContext) -> Outcome:
    url = f"{ctx.endpoints.prometheus}/api/v1/query"
    status = ctx.http.get(url, params={"query": "vector(1)"}, auth=None).status_code
    return _refused_or_on_loopback(
        ctx,
        ctx.endpoints.prometheus,
        status,
        f"curl -s '{url}?query=up'",
        open_="queries are open (promtool, amtool and a local Grafana use them)",
        fix="Prometheus answers anyone's queries",
    )


def alertmanager_silences(ctx: VerifyContext) -> Outcome:
    url = f"{ctx.endpoints.alertmanager}/api/v2/silences"
    # An invalid silence: refused as 400/422 by an open Alertmanager, 401 behind auth; never created.
    status = ctx.http.post(url, json={}, auth=None).status_code
    return _refused_or_on_loopback(
        ctx,
        ctx.endpoints.alertmanager,
        status,
        f"curl -s -X POST {url} -H 'Content-Type: application/json' -d '{{}}'",
        open_="silences are open (amtool uses them)",
        fix=f"anyone who reaches Alertmanager at {ctx.endpoints.alertmanager} can silence every alert",
    )


def header_limits(ctx: VerifyContext) -> Outcome:
    if not ctx.endpoints.gateway:
        return Outcome.skipped("no --gateway-url given")
    url = f"{ctx.endpoints.gateway}/healthz"
    headers = {f"X-Flood-{i}": "x" for i in range(HEADER_FLOOD)}
    reproduce = f"curl -s -o /dev/null -w '%{{http_code}}' {url} " + " ".join(f"-H 'X-Flood-{i}: x'" for i in range(3)) + " …"
    status = ctx.http.get(url, headers=headers).status_code
    if status == 431:
        return Outcome.passed(f"a request with {HEADER_FLOOD} headers is refused with 431", reproduce)
    return Outcome.failed(
        f"a request with {HEADER_FLOOD} headers got HTTP {status}, not 431: the gateway does not bound headers "
        "(AT_MAX_HEADER_COUNT, AT_MAX_HEADER_BYTES)",
        reproduce,
    )


def _stack_secrets(state_dir: Path) -> dict[str, str]:
    """Every credential file of the stack: value -> name (values of 8+ characters only)."""
    found: dict[str, str] = {}
    directory = state_dir / SECRETS_DIR
    for path in sorted(directory.glob("*")) if directory.is_dir() else []:
        try:
            value = path.read_text().strip()
        except OSError:
            continue
        if len(value) >= 8 and not value.startswith("{"):
            found[value] = path.name
    return found


def stray_secrets(state_dir: Path, webhook_secret: str | None) -> tuple[list[str], int]:
    """Secrets held by a stack process that does not need them, and how many processes were read."""
    state = str(state_dir.resolve())
    secrets = _stack_secrets(state_dir)
    if webhook_secret:
        secrets[webhook_secret] = "the webhook secret"
    problems, seen = [], 0
    for process in psutil.process_iter(["pid", "environ"]):
        env = process.info.get("environ") or {}
        if env.get(STACK_STATE_VARIABLE) != state:
            continue
        seen += 1
        program = env.get(PROGRAM_VARIABLE, f"pid {process.info['pid']}")
        for variable, value in env.items():
            holders = SECRET_VARIABLE_HOLDERS.get(variable)
            if holders is not None and program not in holders:
                problems.append(
                    f"{program} (pid {process.info['pid']}) holds {variable}, which only {', '.join(sorted(holders))} needs"
                )
            elif holders is None and value in secrets:
                problems.append(f"{program} (pid {process.info['pid']}) holds {secrets[value]} in {variable}")
    return problems, seen


def secrets_in_environments(ctx: VerifyContext) -> Outcome:
    if ctx.settings is None:
        return Outcome.skipped("a remote deployment's processes are not visible from here")
    reproduce = f"grep -l AT_WEBHOOK_SECRET /proc/*/environ  # processes with AT_STATE_DIR={ctx.settings.state_dir}"
    problems, seen = stray_secrets(ctx.settings.state_dir, ctx.webhook_secret)
    if not seen:
        return Outcome.skipped(f"no process of the stack in {ctx.settings.state_dir} is running as this user")
    if problems:
        return Outcome.failed(f"{len(problems)} secret(s) in processes that do not need them", reproduce, details=problems)
    return Outcome.passed(f"{seen} stack processes read: each holds only the secrets it needs", reproduce)
