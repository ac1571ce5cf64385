"""Who connects to Redis and NATS as whom, and with which password: the client side of a stack's auth.

``atctl up`` generates one Redis ACL user and one NATS user per service
(:mod:`agentic_trading.stack.access` renders them into redis.conf and nats.conf) and keeps
each password in ``<state_dir>/secrets/`` (mode 0600). Services, ``atctl`` and the tests
find their own password there by user name, so nobody types one and none travels through
an environment or a command line. This module only reads; it sits below services, ``verify``
and ``stack`` alike.

A deployment elsewhere gives credentials in its URLs instead
(``AT_REDIS_URL=redis://user:password@host:6379/0``, ``AT_NATS_URL=nats://user:password@host:4222``):
a URL that names a user wins over the secret files.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from agentic_trading.settings import AGENT_TYPES, Settings

SECRETS_DIR = "secrets"
ADMIN = "admin"  # atctl, the tests and an operator's redis-cli: every command, every key
REDIS_EXPORTER = "redis-exporter"
AGENT_USERS: tuple[str, ...] = tuple(f"agent-{agent_type}" for agent_type in AGENT_TYPES)
# Everyone with a Redis user of their own, and everyone with a NATS user (the NATS exporter
# reads the monitoring port, which has no users in nats-server 2.9: see docs/security.md).
REDIS_USERS: tuple[str, ...] = ("gateway", "orchestrator", *AGENT_USERS, REDIS_EXPORTER, ADMIN)
NATS_USERS: tuple[str, ...] = ("gateway", "orchestrator", *AGENT_USERS, "canary", ADMIN)

WEBHOOK_SECRET = "webhook_secret"
WEBHOOK_SECRET_VARIABLE = "AT_WEBHOOK_SECRET"
DASHBOARDS_PASSWORD_VARIABLE = "AT_DASHBOARDS_PASSWORD"
# Environment variable -> the supervised programs that may hold it (supervisord holds it
# too, to hand it on: docs/security.md). Redis and NATS passwords never travel by environment.
SECRET_VARIABLE_HOLDERS: dict[str, frozenset[str]] = {
    # The canary signs its test signals like any sender (agentic_trading.canary).
    WEBHOOK_SECRET_VARIABLE: frozenset({"gateway", "canary"}),
    DASHBOARDS_PASSWORD_VARIABLE: frozenset({"dashboards"}),
}


def redis_secret_name(user: str) -> str:
    return f"redis_{user}"


def nats_secret_name(user: str) -> str:
    return f"nats_{user}"


def secret_file(state_dir: Path, name: str) -> Path:
    return Path(state_dir) / SECRETS_DIR / name


def read_stack_secret(state_dir: Path, name: str) -> str | None:
    """The secret ``name`` of the stack in ``state_dir``, or None when it has none (or it is unreadable)."""
    try:
        return secret_file(state_dir, name).read_text()
    except OSError:
        return None


def _has_user(url: str) -> bool:
    return bool(urlsplit(url).username)


def _with_user(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.hostname}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redis_url(settings: Settings, user: str) -> str:
    """The Redis URL ``user`` connects with: the stack's with its password, or AT_REDIS_URL as given."""
    url = settings.redis_url
    if _has_user(url):
        return url
    password = read_stack_secret(settings.state_dir, redis_secret_name(user))
    return _with_user(url, user, password) if password else url


def nats_credentials(settings: Settings, user: str) -> dict[str, str]:
    """nats-py's ``user``/``password`` options for ``user`` ({} when the URL carries them or there are none)."""
    if _has_user(settings.nats_url):
        return {}
    password = read_stack_secret(settings.state_dir, nats_secret_name(user))
    return {"user": user, "password": password} if password else {}


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
