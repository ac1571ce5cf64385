"""Render every config file of a local stack: nats.conf, redis.conf, supervisord.conf.

Pure text functions (unit-tested without a stack) plus :func:`render_stack`, which
writes them into the state directory. No secret is written into a config file: Redis and
NATS get their users' hashes (``stack/access.py``), the webhook secret reaches the gateway
through supervisord's own environment, and every other program is started without it
(``stack/environment.py``).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from agentic_trading.bus import STREAM_LIMITS
from agentic_trading.settings import Settings
from agentic_trading.stack.access import (
    StackCredentials,
    ensure_credentials,
    redis_exporter_address,
    render_nats_authorization,
    render_redis_acl,
    write_exporter_password_file,
)
from agentic_trading.stack.environment import without_foreign_secrets
from agentic_trading.stack.errors import StackError
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.programs import OBSERVABILITY_MODULE, Program, ProgramContext
from agentic_trading.stack.web_tls import ensure_web_files
from agentic_trading.telemetry.log_file import BACKUPS as LOG_BACKUPS
from agentic_trading.telemetry.log_file import ENV_VAR as LOG_FILE_ENV
from agentic_trading.telemetry.log_file import MAX_BYTES

LOG_MAXBYTES = f"{MAX_BYTES // 2**20}MB"  # the daemons' logs, rotated by supervisord like ours by themselves
STOP_WAIT_SECS = 10


def stack_identity(settings: Settings, paths: StackPaths) -> str:
    """A short name unique to this stack (state dir + offset), for server names and supervisord."""
    digest = hashlib.sha1(str(paths.state_dir).encode()).hexdigest()[:8]
    return f"atctl-{settings.port_offset}-{digest}"


def nats_max_file_store_gb() -> int:
    """JetStream refuses a stream whose max_bytes does not fit the store: every stream, plus 1 GB."""
    reserved = sum(limits.max_bytes for limits in STREAM_LIMITS.values())
    return max(2, -(-reserved // 2**30) + 1)  # nats-server's GB is 2**30 bytes


def render_nats_conf(settings: Settings, paths: StackPaths, credentials: StackCredentials) -> str:
    store = json.dumps(str(paths.data_dir("nats")))
    return f"""# Rendered by atctl; edits are overwritten by `atctl up`.
server_name: {json.dumps(stack_identity(settings, paths))}
host: {json.dumps(settings.host)}
port: {settings.port("nats")}
# Monitoring (/healthz, /varz, /jsz): the NATS exporter and `atctl status` read it.
http: {json.dumps(f"{settings.host}:{settings.port('nats-monitor')}")}

jetstream {{
  store_dir: {store}
  max_memory_store: 256MB
  max_file_store: {nats_max_file_store_gb()}GB
}}

{render_nats_authorization(credentials.nats_hashes)}"""


def render_redis_conf(settings: Settings, paths: StackPaths, credentials: StackCredentials) -> str:
    return f"""# Rendered by atctl; edits are overwritten by `atctl up`.
bind {settings.host}
port {settings.port("redis")}
protected-mode yes
daemonize no
supervised no
logfile ""
dir {_redis_quote(str(paths.data_dir("redis")))}
maxmemory {settings.redis_maxmemory}
maxmemory-policy noeviction
appendonly yes
appendfsync everysec
save ""
{render_redis_acl(credentials.redis)}"""


def _redis_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ini(value: str) -> str:
    """supervisord expands %(name)s in values: a literal percent sign is written %%."""
    return value.replace("%", "%%")


def _env_value(key: str, value: str) -> str:
    # supervisord splits environment= with a non-POSIX shlex: no escapes inside quotes.
    if '"' in value or "\n" in value:
        raise StackError(f"{key} contains a double quote or newline, which supervisord cannot pass on: change it")
    return '"' + _ini(value) + '"'


def render_environment(env: Mapping[str, str]) -> str:
    return ",".join(f"{key}={_env_value(key, value)}" for key, value in sorted(env.items()))


def render_supervisord_conf(
    settings: Settings,
    paths: StackPaths,
    programs: Sequence[Program],
    commands: Mapping[str, Sequence[str]],
) -> str:
    """supervisord.conf: control socket and files in the state dir, one [program:X] per program."""
    environment = dict(settings.child_environment())
    environment["PYTHONUNBUFFERED"] = "1"
    env_line = render_environment(environment)
    sections = [
        "; Rendered by atctl; edits are overwritten by `atctl up`.",
        "[unix_http_server]",
        f"file={_ini(str(paths.socket))}",
        "chmod=0700",
        "",
        "[supervisord]",
        f"logfile={_ini(str(paths.supervisord_log))}",
        "logfile_maxbytes=10MB",
        "logfile_backups=2",
        f"pidfile={_ini(str(paths.supervisord_pid))}",
        f"childlogdir={_ini(str(paths.log_dir))}",
        f"directory={_ini(str(paths.state_dir))}",
        f"identifier={stack_identity(settings, paths)}",
        "nodaemon=false",
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_ini(str(paths.socket))}",
        "",
    ]
    for program in programs:
        command = " ".join(shlex.quote(arg) for arg in without_foreign_secrets(program.name, commands[program.name]))
        log_file = paths.log_file(program.name)
        if program.writes_own_log:
            # The program appends to and rotates this file itself (telemetry/log_file.py); supervisord
            # only adds what is printed before the program opens it, and must not rotate it.
            own_env = render_environment({**environment, LOG_FILE_ENV: str(log_file)})
            log_max_bytes = "0"
        else:
            own_env, log_max_bytes = env_line, LOG_MAXBYTES
        sections += [
            f"[program:{program.name}]",
            f"command={_ini(command)}",
            f"directory={_ini(str(paths.state_dir))}",
            f"priority={program.priority}",
            # `atctl up` starts programs itself, tier by tier, once the previous tier is healthy.
            "autostart=false",
            "autorestart=true",
            f"startsecs={program.startsecs}",
            "startretries=5",
            "stopsignal=TERM",
            f"stopwaitsecs={STOP_WAIT_SECS}",
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_ini(str(log_file))}",
            f"stdout_logfile_maxbytes={log_max_bytes}",
            f"stdout_logfile_backups={LOG_BACKUPS}",
            f"environment={own_env}",
            "",
        ]
    return "\n".join(sections)


def _write(path: Path, text: str) -> bool:
    """Write only when the content changed; True when it did (the program must restart)."""
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return True


@dataclass
class RenderedStack:
    commands: dict[str, list[str]]  # program -> argv
    changed: set[str]  # programs whose own config file changed (running ones need a restart)


def render_stack(ctx: ProgramContext, programs: Sequence[Program]) -> RenderedStack:
    """Create the state dir, write every config file, and return each program's command."""
    paths = ctx.paths
    paths.create(tuple(p.data for p in programs if p.data))
    changed = set()
    credentials = ensure_credentials(paths)
    if _write(paths.config_file("nats.conf"), render_nats_conf(ctx.settings, paths, credentials)):
        changed.add("nats")
    if _write(paths.config_file("redis.conf"), render_redis_conf(ctx.settings, paths, credentials)):
        changed.add("redis")
    if any(p.module == OBSERVABILITY_MODULE for p in programs):
        observability = importlib.import_module(OBSERVABILITY_MODULE)
        web = ensure_web_files(paths, ctx.settings) if ctx.settings.web_secured else None
        ctx.observability = observability.render_observability(
            ctx.settings, paths.config_dir / "observability", profile=ctx.settings.profile, web=web
        )
    address = redis_exporter_address(ctx.settings)
    if any(p.name == "redis-exporter" for p in programs) and not urlsplit(address).username:
        # (AT_REDIS_URL may carry its own credentials.)
        ctx.redis_exporter_password_file = write_exporter_password_file(paths, address, credentials)
    commands = {p.name: p.command(ctx) for p in programs}
    _write(paths.supervisord_conf, render_supervisord_conf(ctx.settings, paths, programs, commands))
    return RenderedStack(commands, changed)
