"""Basic auth and TLS for one stack's Prometheus and Alertmanager: passwords, a CA, a certificate, web.yml.

When Prometheus and Alertmanager listen off loopback (``AT_HOST``/``AT_WEB_HOST``) or
``AT_WEB_AUTH`` is on, ``atctl up`` calls :func:`ensure_web_files`, which keeps in
``<state_dir>/secrets/`` (0700, files 0600):

* ``web_admin``: the password of ``AT_WEB_USER`` (atctl, Prometheus' own scrapes of itself
  and Alertmanager, its Alertmanager client, another node's Grafana);
* ``web_receiver``: Alertmanager's password at the receiver's ``POST /alerts``;
* ``ca.pem``/``ca.key``: the stack's own CA, made once (clients keep trusting it across ``up``);
* ``server.pem``/``server.key``: Prometheus' and Alertmanager's certificate, signed by that CA
  for every name they are reached by (re-issued when the names change);
* ``web_prometheus.yml``, ``web_alertmanager.yml``: their ``--web.config.file`` (the
  certificate, and ``basic_auth_users`` with the bcrypt hash of ``web_admin``; the Prometheus
  exporter-toolkit format, read on every request; one file each, so one can be changed alone).

The keys and certificates come from Debian's ``openssl`` (``scripts/bootstrap.sh`` installs it).
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import yaml

from agentic_trading.settings import Settings
from agentic_trading.stack.errors import StackError
from agentic_trading.stack.paths import StackPaths
from agentic_trading.stack.secrets import ensure_secret, read_secret, secret_path, write_secret
from agentic_trading.web_access import CA_CERT, RECEIVER_SECRET, WEB_ADMIN_SECRET

OPENSSL = "openssl"
BCRYPT_COST = 10
CA_KEY = "ca.key"
SERVER_CERT = "server.pem"
SERVER_KEY = "server.key"
SERVER_NAMES = "server_names"  # the names the current certificate was issued for
# Component -> its --web.config.file.
WEB_CONFIGS: dict[str, str] = {"prometheus": "web_prometheus.yml", "alertmanager": "web_alertmanager.yml"}
CA_DAYS = 3650
SERVER_DAYS = 825
_KEY_OPTIONS = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


@dataclass(frozen=True)
class WebFiles:
    """What Prometheus and Alertmanager are started with, and what their clients read."""

    web_configs: dict[str, Path]  # component -> its --web.config.file
    ca_file: Path
    admin_password_file: Path
    receiver_password_file: Path


def server_names(settings: Settings) -> list[str]:
    """Every name a client may use for Prometheus and Alertmanager: loopback, the bind host, this host, AT_WEB_TLS_NAMES."""
    names = ["localhost", "127.0.0.1", "::1", settings.web_bind_host, socket.gethostname()]
    names += [name.strip() for name in settings.web_tls_names.split(",") if name.strip()]
    unique: list[str] = []
    for name in names:
        if name and name not in unique:
            unique.append(name)
    return unique


def subject_alt_names(names: list[str]) -> str:
    """Pure: the ``subjectAltName`` value for ``names`` (IP: for addresses, DNS: for the rest)."""
    entries = []
    for name in names:
        try:
            entries.append(f"IP:{ipaddress.ip_address(name.strip('[]'))}")
        except ValueError:
            entries.append(f"DNS:{name}")
    return ",".join(entries)


def web_config_document(cert: Path, key: Path, users: dict[str, str]) -> dict[str, Any]:
    """Pure: the ``--web.config.file`` document; ``users`` maps a user to its bcrypt hash."""
    return {
        "tls_server_config": {"cert_file": str(cert), "key_file": str(key)},
        "basic_auth_users": dict(users),
    }


def render_web_config(document: dict[str, Any]) -> str:
    return "# Rendered by atctl up (stack/web_tls.py); edits are overwritten.\n" + yaml.safe_dump(document, sort_keys=False)


def _openssl(*args: str, cwd: Path) -> None:
    try:
        result = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        raise StackError("openssl is not installed: run scripts/bootstrap.sh (apt-get install openssl)") from None
    if result.returncode != 0:
        raise StackError(f"openssl {args[0]} failed in {cwd}: {result.stderr.strip()[-400:]}")


def _ensure_ca(directory: Path) -> None:
    if (directory / CA_CERT).is_file() and (directory / CA_KEY).is_file():
        return
    _openssl(
        "req", "-x509", "-new", *_KEY_OPTIONS, "-keyout", CA_KEY, "-out", CA_CERT, "-days", str(CA_DAYS),
        "-subj", "/CN=agentic-trading stack CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip


def _issue_server_cert(directory: Path, names: list[str]) -> None:
    extensions = directory / ".server.ext"
    extensions.write_text(
        f"subjectAltName={subject_alt_names(names)}\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid,issuer\n"
    )
    try:
        _openssl(
            "req",
            "-new",
            *_KEY_OPTIONS,
            "-keyout",
            SERVER_KEY,
            "-out",
            ".server.csr",
            "-subj",
            "/CN=agentic-trading",
            cwd=directory,
        )
        _openssl(
            "x509", "-req", "-in", ".server.csr", "-CA", CA_CERT, "-CAkey", CA_KEY, "-CAcreateserial",
            "-out", SERVER_CERT, "-days", str(SERVER_DAYS), "-extfile", extensions.name,
            cwd=directory,
        )  # fmt: skip
    finally:
        for leftover in (extensions, directory / ".server.csr", directory / "ca.srl"):
            leftover.unlink(missing_ok=True)


def ensure_web_files(paths: StackPaths, settings: Settings) -> WebFiles:
    """Generate (once) the passwords and CA, (re)issue the certificate when its names changed, write web.yml."""
    admin = ensure_secret(paths, WEB_ADMIN_SECRET)
    ensure_secret(paths, RECEIVER_SECRET)
    directory = secret_path(paths, WEB_ADMIN_SECRET).parent
    _ensure_ca(directory)
    names = server_names(settings)
    wanted = "\n".join(names)
    if read_secret(paths, SERVER_NAMES) != wanted or not (directory / SERVER_CERT).is_file():
        _issue_server_cert(directory, names)
        write_secret(paths, SERVER_NAMES, wanted)
    for name in (CA_KEY, SERVER_KEY, SERVER_CERT, CA_CERT):
        (directory / name).chmod(0o600)
    hashed = bcrypt.hashpw(admin.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
    wanted = web_config_document(directory / SERVER_CERT, directory / SERVER_KEY, {settings.web_user: hashed})
    for name in WEB_CONFIGS.values():
        if not _is_current(read_secret(paths, name), wanted, settings.web_user, admin):
            write_secret(paths, name, render_web_config(wanted))
    return WebFiles(
        web_configs={component: directory / name for component, name in WEB_CONFIGS.items()},
        ca_file=directory / CA_CERT,
        admin_password_file=directory / WEB_ADMIN_SECRET,
        receiver_password_file=directory / RECEIVER_SECRET,
    )


def _is_current(existing: str | None, wanted: dict[str, Any], user: str, password: str) -> bool:
    """Whether a web config already says what ``wanted`` says (its hash of ``password`` has another salt)."""
    if existing is None:
        return False
    try:
        document = yaml.safe_load(existing)
    except yaml.YAMLError:
        return False
    if not isinstance(document, dict) or set(document) != set(wanted):
        return False
    users = document.get("basic_auth_users") or {}
    hashed = users.get(user) if isinstance(users, dict) else None
    return (
        document.get("tls_server_config") == wanted["tls_server_config"]
        and set(users) == {user}
        and isinstance(hashed, str)
        and bcrypt.checkpw(password.encode(), hashed.encode())
    )
