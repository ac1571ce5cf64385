"""Who may do what on a stack's Redis and NATS: one user per service, rendered into redis.conf and nats.conf.

:func:`ensure_credentials` generates each user's password once per stack (``stack/secrets.py``:
``<state_dir>/secrets/redis_<user>``, ``nats_<user>``, mode 0600); the config files only
ever hold hashes (SHA-256 for Redis ACLs, bcrypt for NATS). Anonymous access is refused on
both, loopback included. Each service gets the commands, keys and subjects it needs and
no more (the tables below; docs/security.md explains them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import bcrypt

from agentic_trading.credentials import (
    ADMIN,
    AGENT_USERS,
    NATS_USERS,
    REDIS_EXPORTER,
    REDIS_USERS,
    nats_secret_name,
    redis_secret_name,
)
from agentic_trading.settings import AGENT_TYPES, Settings
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.secrets import ensure_secret, read_secret, write_secret

# Every key the pipeline writes starts with "at:" (agents/state.py, orchestrator/workflow.py).
_PIPELINE_KEYS = "~at:*"
# Read/write data commands, Lua and MULTI; nothing @dangerous (FLUSHALL, CONFIG SET, DEBUG, KEYS…)
# except INFO, which the capacity checks (capacity.py) read.
_DATA_RULES = "-@all +@read +@write +@scripting +@transaction +@connection -@dangerous +info"
REDIS_RULES: dict[str, str] = {
    # The gateway only reads: readiness (PING, INFO memory) and a duplicate's original correlation id.
    "gateway": f"{_PIPELINE_KEYS} -@all +@read +@connection -@dangerous +info",
    "orchestrator": f"{_PIPELINE_KEYS} {_DATA_RULES}",
    **{user: f"{_PIPELINE_KEYS} {_DATA_RULES}" for user in AGENT_USERS},
    # prometheus-redis-exporter: server facts only, no key at all.
    REDIS_EXPORTER: "resetkeys -@all +@connection +info +ping +config|get +slowlog +latency +client|list +dbsize +memory",
    ADMIN: "~* &* +@all",
}

# $JS.API.> is the JetStream API (stream/consumer info and creation, message get, pull
# requests); what would destroy data is denied to every service. _INBOX.> carries replies.
_JS_API = "$JS.API.>"
_JS_DESTRUCTIVE = (
    "$JS.API.STREAM.DELETE.>",
    "$JS.API.STREAM.PURGE.>",
    "$JS.API.STREAM.MSG.DELETE.>",
    "$JS.API.CONSUMER.DELETE.>",
)
_REPLIES = "_INBOX.>"


@dataclass(frozen=True)
class NatsPermissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...] = (_REPLIES,)
    deny_publish: tuple[str, ...] = _JS_DESTRUCTIVE


NATS_PERMISSIONS: dict[str, NatsPermissions | None] = {
    "gateway": NatsPermissions(("signals.>", _JS_API)),
    "orchestrator": NatsPermissions(
        ("decisions.>", _JS_API, "$JS.ACK.SIGNALS.orchestrator-signals.>", "$JS.ACK.OPINIONS.orchestrator-opinions.>")
    ),
    **{
        f"agent-{agent_type}": NatsPermissions((f"opinions.{agent_type}", _JS_API, f"$JS.ACK.SIGNALS.agent-{agent_type}.>"))
        for agent_type in AGENT_TYPES
    },
    # The canary (agentic_trading.canary) only listens for decisions; it publishes nothing.
    "canary": NatsPermissions((), subscribe=("decisions.>", _REPLIES)),
    ADMIN: None,  # everything
}

BCRYPT_COST = 10  # nats-server checks it once per connection; ~50 ms here


@dataclass(frozen=True)
class StackCredentials:
    """Every user's password (what clients send) and the NATS bcrypt hashes (what nats.conf holds)."""

    redis: Mapping[str, str]
    nats: Mapping[str, str]
    nats_hashes: Mapping[str, str]


def ensure_credentials(paths: StackPaths) -> StackCredentials:
    """Generate (once) a password per Redis and NATS user of the stack in ``paths``."""
    redis = {user: ensure_secret(paths, redis_secret_name(user)) for user in REDIS_USERS}
    nats = {user: ensure_secret(paths, nats_secret_name(user)) for user in NATS_USERS}
    hashes = {user: _nats_hash(paths, user, password) for user, password in nats.items()}
    return StackCredentials(redis, nats, hashes)


def _nats_hash(paths: StackPaths, user: str, password: str) -> str:
    """The bcrypt hash of ``password``, kept beside it so nats.conf does not change on every `atctl up`."""
    name = f"{nats_secret_name(user)}_bcrypt"
    kept = read_secret(paths, name)
    if kept and bcrypt.checkpw(password.encode(), kept.encode()):
        return kept
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
    write_secret(paths, name, hashed)
    return hashed


def render_redis_acl(passwords: Mapping[str, str]) -> str:
    """redis.conf ``user`` lines: nobody can be the default user, one user per service by SHA-256.

    The default user stays ``on`` with every permission but no password (``resetpass``, not
    ``nopass``): no connection is authenticated as it and ``AUTH default …`` always fails, so
    anonymous clients get NOAUTH. It is not ``off`` because Redis replays the append-only file
    as the default user and, before Redis 8 (redis/redis#14541, valkey#3983), re-checks that
    user's permissions at every EXEC: with ``user default off`` every MULTI/EXEC in the AOF --
    every Lua script's writes -- is refused with NOPERM on restart and silently lost.
    """
    lines = [
        "# Anonymous connections are refused (NOAUTH); one ACL user per service (stack/access.py).",
        "# The default user has no password, so nobody can be it, and keeps its permissions so",
        "# that replaying the append-only file after a restart keeps every transaction.",
        "user default on resetpass ~* &* +@all",
    ]
    for user, rules in REDIS_RULES.items():
        digest = hashlib.sha256(passwords[user].encode()).hexdigest()
        lines.append(f"user {user} on #{digest} {rules}")
    return "\n".join(lines) + "\n"


def render_nats_authorization(hashes: Mapping[str, str]) -> str:
    """nats.conf ``authorization`` block: one user per service with its subject permissions."""
    entries = []
    for user, permissions in NATS_PERMISSIONS.items():
        entry = f"    {{user: {json.dumps(user)}, password: {json.dumps(hashes[user])}"
        if permissions is not None:
            entry += (
                ", permissions: {"
                f"publish: {{allow: {json.dumps(list(permissions.publish))}, deny: {json.dumps(list(permissions.deny_publish))}}}, "
                f"subscribe: {{allow: {json.dumps(list(permissions.subscribe))}}}"
                "}"
            )
        entries.append(entry + "}")
    body = "\n".join(entries)
    return f"# No anonymous clients: one user per service (stack/access.py).\nauthorization {{\n  users: [\n{body}\n  ]\n}}\n"


def redis_exporter_address(settings: Settings) -> str:
    """The Redis prometheus-redis-exporter watches: the stack's, or AT_REDIS_URL's."""
    return settings.redis_url_override or f"redis://{settings.host}:{settings.port('redis')}"


def write_exporter_password_file(paths: StackPaths, redis_address: str, credentials: StackCredentials) -> Path:
    """prometheus-redis-exporter's ``-redis.password-file``: JSON ``{address: password}``, mode 0600."""
    return write_secret(paths, "redis_exporter_password_map", json.dumps({redis_address: credentials.redis[REDIS_EXPORTER]}))
