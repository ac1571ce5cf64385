"""A stack's secrets on disk: one file per secret in ``<state_dir>/secrets/``, readable by root alone.

``atctl up`` generates the credentials a stack needs (Redis and NATS users, basic-auth
passwords) and records the webhook secret it was started with, so that later commands
(``atctl load``, ``atctl verify``, ``atctl trace``) work without the user typing them.
Nothing here is ever written to the repository: the state directory is git-ignored and
each file is created with mode 0600 inside a 0700 directory before anything is written.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from agentic_trading.stack.errors import StackError
from agentic_trading.stack.paths import StackPaths

SECRETS_DIR = "secrets"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")


class SecretFileError(StackError):
    """A secret file cannot be read or written; the message names the file and the fix."""


def secrets_dir(paths: StackPaths) -> Path:
    return paths.state_dir / SECRETS_DIR


def secret_path(paths: StackPaths, name: str) -> Path:
    if not name or set(name) - _NAME_CHARS or name.startswith("."):
        raise ValueError(f"secret names are lower-case letters, digits, '_', '-' and '.' (not first): {name!r}")
    return secrets_dir(paths) / name


def write_secret(paths: StackPaths, name: str, value: str) -> Path:
    """Write ``value`` as the secret ``name`` (mode 0600), replacing it atomically."""
    directory = secrets_dir(paths)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    path = secret_path(paths, name)
    tmp = path.with_name(f".{name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value)
        tmp.replace(path)
    except OSError as exc:
        raise SecretFileError(f"cannot write {path}: {exc}: check the state directory's permissions") from exc
    return path


def read_secret(paths: StackPaths, name: str) -> str | None:
    """The secret ``name`` of the stack, or None when the stack has none by that name."""
    path = secret_path(paths, name)
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretFileError(f"cannot read {path}: {exc}: run atctl as the user who started the stack") from exc


def ensure_secret(paths: StackPaths, name: str, nbytes: int = 24) -> str:
    """The secret ``name``, generated (URL-safe, ``nbytes`` of randomness) the first time it is asked for."""
    existing = read_secret(paths, name)
    if existing:
        return existing
    value = secrets.token_urlsafe(nbytes)
    write_secret(paths, name, value)
    return value


def remove_secret(paths: StackPaths, name: str) -> None:
    """Forget the secret ``name`` (a stack started without it)."""
    secret_path(paths, name).unlink(missing_ok=True)
