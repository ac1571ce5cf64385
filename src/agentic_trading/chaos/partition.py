"""Kernel-level network faults on one supervised program's edge to one dependency port.

:func:`partition` drops the traffic; :func:`reroute` sends it through the fault proxy.

The program keeps running under supervisord; only its TCP traffic to (and from) the
dependency is DROPPED, so its client sees a silent network (timeouts), not a refusal —
the specification's ``iptables -A OUTPUT -p tcp --dport 4222 -j DROP`` inside one
container, without containers:

* connections the program already holds are matched by their ports (both directions);
* connections it opens afterwards are matched by a cgroup v2 the program is moved into
  (``-m cgroup --path``): a socket carries the cgroup it was created in, so the cgroup
  alone would spare the established connection, and the ports alone would spare a reconnect.

:func:`reroute` moves the program into a cgroup, adds a NAT ``REDIRECT`` for that cgroup's
new connections to the dependency port (towards the proxy's port), and destroys the
program's established connections to the dependency (``ss -K``), so its client reconnects
at once — through the proxy, without a restart (a restart would itself page: a target
down for one scrape). Undo: remove the rule and destroy the proxied connections again, so
the client reconnects directly.

A NAT rule is only consulted for a connection conntrack sees as *new*. A reconnect whose
four-tuple matches a connection conntrack still remembers (an entry whose end it never saw
in full: ESTABLISHED lives five days, and one reset by the server is not "reopened") is
taken as part of that old connection and reaches the dependency directly, around the proxy.
:func:`keep_through_proxy` therefore watches the reconnect and cuts any connection that went
around; the program's own reset makes conntrack forget the tuple, so its next attempt is new.

Every rule carries a comment ``atctl-chaos:<tag>`` and every cgroup is named after the tag,
so :func:`remove_leftovers` can clean up after a crash. A tag (see :func:`fault_tag`) is
unique to one fault of one run: a cgroup is never re-made under the name of one just removed.
Needs root, iptables and a writable cgroup v2 (``scripts/bootstrap.sh`` installs iptables).
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from agentic_trading.chaos.errors import FaultError, FaultUnavailableError

CGROUP2_ROOTS = (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
COMMENT_PREFIX = "atctl-chaos:"
IPTABLES_TIMEOUT_S = 10.0


def fault_tag(prefix: str, program: str, experiment: str) -> str:
    """``<prefix><program>-<experiment>-<pid><random>``: starts with ``prefix + program`` for cleanup, unique per fault.

    The runner removes leftovers by ``prefix + program``; the rest keeps two faults (even two
    runs of one experiment) from sharing a cgroup name.
    """
    return f"{prefix}{program}-{experiment}-{os.getpid():x}{secrets.token_hex(2)}"


def cgroup2_root() -> Path:
    """Where the cgroup v2 hierarchy is mounted (hybrid: unified/; pure v2: /sys/fs/cgroup)."""
    for root in CGROUP2_ROOTS:
        if _is_cgroup2(root):
            return root
    raise FaultUnavailableError("no cgroup v2 hierarchy mounted (looked in /sys/fs/cgroup/unified and /sys/fs/cgroup)")


def _is_cgroup2(path: Path) -> bool:
    try:
        for line in Path("/proc/self/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[1] == str(path) and parts[2] == "cgroup2":
                return True
    except OSError:
        return False
    return False


def iptables() -> str:
    found = shutil.which("iptables", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if found is None:
        raise FaultUnavailableError("iptables is not installed: run scripts/bootstrap.sh (Debian package iptables)")
    if os.geteuid() != 0:
        raise FaultUnavailableError("a kernel partition needs root (iptables, cgroups): run as root")
    return found


def ss() -> str:
    found = shutil.which("ss", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin")
    if found is None:
        raise FaultUnavailableError("ss (iproute2) is not installed: apt-get install iproute2")
    return found


def _run_iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([iptables(), "-w", "5", *args], capture_output=True, text=True, timeout=IPTABLES_TIMEOUT_S, check=False)


@dataclass
class Confinement:
    """A program's processes moved into a cgroup of ours, and where each came from."""

    pids: list[int]
    cgroup: Path
    origins: dict[int, str]

    @property
    def path(self) -> str:
        """The cgroup as ``-m cgroup --path`` wants it: relative to the cgroup v2 root."""
        return str(self.cgroup.relative_to(self.cgroup.parent))

    def release(self) -> list[str]:
        """Move every live process back where it was and remove the cgroup; return what failed."""
        problems = []
        for pid, origin in self.origins.items():
            target = self.cgroup.parent / origin.lstrip("/")
            try:
                (target / "cgroup.procs").write_text(str(pid))
            except OSError as exc:
                if psutil.pid_exists(pid):
                    problems.append(f"moving pid {pid} back to {target}: {exc}")
        return problems + _remove_cgroup(self.cgroup)


def confine(pid: int, tag: str) -> Confinement:
    """Move ``pid`` and its children into the cgroup named after ``tag`` (created here)."""
    iptables()
    root = cgroup2_root()
    try:
        process = psutil.Process(pid)
        pids = [process.pid, *(child.pid for child in process.children(recursive=True))]
    except psutil.Error as exc:
        raise FaultError(f"process {pid} is gone ({exc}): is the program running? (atctl status)") from exc
    cgroup = root / _cgroup_name(tag)
    try:
        cgroup.mkdir()
    except FileExistsError as exc:
        raise FaultError(f"cgroup {cgroup} already exists: fault tags must be unique (fault_tag)") from exc
    confinement = Confinement(pids, cgroup, {p: _cgroup_of(p) for p in pids})
    try:
        for p in pids:
            (cgroup / "cgroup.procs").write_text(str(p))
    except OSError as exc:
        confinement.release()
        raise FaultUnavailableError(f"cannot move pid {pid} into {cgroup} ({exc}): is cgroup v2 writable here?") from exc
    return confinement


@dataclass
class Partition:
    """One active partition: what to undo."""

    confinement: Confinement
    rules: list[list[str]] = field(default_factory=list)
    held_ports: list[int] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{len(self.rules)} DROP rules, {len(self.held_ports)} open connection(s) cut, cgroup {self.confinement.cgroup.name}"
        )


def partition(pid: int, dependency_port: int, tag: str, host: str = "127.0.0.1") -> Partition:
    """Drop every packet between process ``pid`` (and its children) and ``host:dependency_port``."""
    done = Partition(confine(pid, tag))
    tail = ["-m", "comment", "--comment", COMMENT_PREFIX + tag, "-j", "DROP"]
    try:
        to_dependency = f"-o lo -p tcp -d {host} --dport {dependency_port}"
        wanted = [f"{to_dependency} -m cgroup --path {done.confinement.path}".split() + tail]
        done.held_ports = _local_ports(done.confinement.pids, host, dependency_port)
        for port in done.held_ports:
            wanted.append(f"{to_dependency} -s {host} --sport {port}".split() + tail)
            wanted.append(f"-o lo -p tcp -s {host} --sport {dependency_port} -d {host} --dport {port}".split() + tail)
        for rule in wanted:
            result = _run_iptables("-I", "OUTPUT", "1", *rule)
            if result.returncode != 0:
                raise FaultUnavailableError(f"iptables refused a DROP rule ({result.stderr.strip()}): kernel without xt_cgroup?")
            done.rules.append(rule)
    except BaseException:
        heal(done)
        raise
    return done


def heal(active: Partition) -> list[str]:
    """Remove the rules, move the processes back, remove the cgroup; return what could not be undone."""
    problems = []
    for rule in active.rules:
        result = _run_iptables("-D", "OUTPUT", *rule)
        if result.returncode != 0:
            problems.append(f"rule {' '.join(rule)}: {result.stderr.strip()}")
    active.rules = []
    return problems + active.confinement.release()


@dataclass
class Reroute:
    """One active reroute: what to undo."""

    confinement: Confinement
    proxy_port: int
    dependency_port: int
    host: str = "127.0.0.1"
    rule: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return f"NAT redirect to 127.0.0.1:{self.proxy_port}, cgroup {self.confinement.cgroup.name}"


def reroute(pid: int, dependency_port: int, proxy_port: int, tag: str, host: str = "127.0.0.1") -> Reroute:
    """Send every connection of ``pid`` to ``host:dependency_port`` through ``host:proxy_port``, now."""
    done = Reroute(confine(pid, tag), proxy_port, dependency_port, host)
    try:
        rule = f"-o lo -p tcp -d {host} --dport {dependency_port} -m cgroup --path {done.confinement.path}".split()
        rule += ["-m", "comment", "--comment", COMMENT_PREFIX + tag, "-j", "REDIRECT", "--to-ports", str(proxy_port)]
        result = _run_iptables("-t", "nat", "-I", "OUTPUT", "1", *rule)
        if result.returncode != 0:
            raise FaultUnavailableError(f"iptables refused the NAT redirect ({result.stderr.strip()})")
        done.rule = rule
        destroy_connections(done.confinement.pids, host, dependency_port)
    except BaseException:
        end_reroute(done)
        raise
    return done


def keep_through_proxy(active: Reroute, within_s: float) -> int:
    """Wait until the program's connections to the dependency all go through the proxy; cut any that went around.

    Returns how many were cut. Returns at once when at least one connection is proxied and
    none goes around; raises :class:`FaultError` if one still goes around at the deadline
    (no proxied connection yet is the caller's to judge: the client reconnects on its own time).
    """
    deadline = time.monotonic() + within_s
    cut = 0
    while True:
        proxied, around = _split_by_proxy(active)
        if proxied and not around:
            return cut
        if around:
            cut += _destroy_ports(active.host, around, active.dependency_port)
        if time.monotonic() >= deadline:
            if around:
                raise FaultError(
                    f"{len(around)} connection(s) to port {active.dependency_port} still went around the proxy "
                    f"after {cut} cut(s) in {within_s:g} s (conntrack kept their old tuple)"
                )
            return cut
        time.sleep(0.05)


def end_reroute(active: Reroute) -> list[str]:
    """Remove the redirect, cut the proxied connections (the client reconnects directly), restore the cgroup.

    The cut is the program's own reset (``ss -K`` on its socket, which still names the
    dependency's port): conntrack then forgets the redirected tuple at once, where a close by
    the proxy could leave it ESTABLISHED for days, redirecting a later connection that drew
    the same port to a proxy long gone.
    """
    problems = []
    if active.rule:
        result = _run_iptables("-t", "nat", "-D", "OUTPUT", *active.rule)
        if result.returncode != 0:
            problems.append(f"NAT rule: {result.stderr.strip()}")
        active.rule = []
    problems += active.confinement.release()
    live = [p for p in active.confinement.pids if psutil.pid_exists(p)]
    try:
        destroy_connections(live, active.host, active.dependency_port)
    except FaultError as exc:
        problems.append(str(exc))
    return problems


def destroy_connections(pids: list[int], host: str, port: int) -> int:
    """Destroy (``ss -K``) the TCP connections these processes hold to ``host:port``; return how many."""
    return _destroy_ports(host, _local_ports(pids, host, port), port)


def _destroy_ports(host: str, local_ports: list[int], port: int) -> int:
    for local in local_ports:
        command = [ss(), "-K", "-t", "src", host, "sport", "=", str(local), "dst", host, "dport", "=", str(port)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=IPTABLES_TIMEOUT_S, check=False)
        if result.returncode != 0:
            raise FaultError(f"ss -K could not cut {host}:{local} -> {port}: {result.stderr.strip()}")
    return len(local_ports)


def _split_by_proxy(active: Reroute) -> tuple[list[int], list[int]]:
    """The program's established connections to the dependency: (through the proxy, around it), as local ports.

    The program's socket names the dependency's port either way; the proxy's side tells them
    apart: a redirected connection is an established socket on the proxy's port whose peer is
    the program's local port (listed by the kernel even before the proxy accepted it).
    """
    mine = _local_ports(active.confinement.pids, active.host, active.dependency_port, established_only=True)
    at_proxy = _established_peers(active.proxy_port)
    return [p for p in mine if p in at_proxy], [p for p in mine if p not in at_proxy]


def _established_peers(port: int) -> set[int]:
    """Peer ports of established IPv4 TCP sockets whose local port is ``port`` (from /proc/net/tcp)."""
    peers = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            peers.add(int(fields[2].rsplit(":", 1)[1], 16))
    return peers


def remove_leftovers(tag_prefix: str) -> list[str]:
    """Delete every rule and cgroup an earlier, interrupted run with tags starting ``tag_prefix`` left; return what was removed."""
    removed = []
    for table in ("filter", "nat"):
        try:
            listing = _run_iptables("-t", table, "-S", "OUTPUT")
        except FaultUnavailableError:
            return removed
        for line in listing.stdout.splitlines():
            if COMMENT_PREFIX + tag_prefix in line and line.startswith("-A OUTPUT "):
                spec = _split_rule(line[len("-A OUTPUT ") :])
                if _run_iptables("-t", table, "-D", "OUTPUT", *spec).returncode == 0:
                    removed.append(f"{table}: {line}")
    try:
        root = cgroup2_root()
    except FaultUnavailableError:
        return removed
    for cgroup in root.glob(_cgroup_name(tag_prefix) + "*"):
        for pid in (cgroup / "cgroup.procs").read_text().split():
            try:
                (root / "cgroup.procs").write_text(pid)
            except OSError:
                continue
        if not _remove_cgroup(cgroup):
            removed.append(str(cgroup))
    return removed


def active_rules(tag_prefix: str) -> list[str]:
    """Rules in OUTPUT carrying a tag that starts with ``tag_prefix`` (what a test checks is gone)."""
    found = []
    for table in ("filter", "nat"):
        listing = _run_iptables("-t", table, "-S", "OUTPUT")
        found += [f"{table}: {line}" for line in listing.stdout.splitlines() if COMMENT_PREFIX + tag_prefix in line]
    return found


def leftover_cgroups(tag_prefix: str) -> list[Path]:
    return sorted(cgroup2_root().glob(_cgroup_name(tag_prefix) + "*"))


def _cgroup_name(tag: str) -> str:
    return "atctl-chaos-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in tag)


def _cgroup_of(pid: int) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return line[3:]
    return "/"


def _local_ports(pids: list[int], host: str, port: int, established_only: bool = False) -> list[int]:
    ports = set()
    for pid in pids:
        try:
            for conn in psutil.Process(pid).net_connections(kind="tcp"):
                if established_only and conn.status != psutil.CONN_ESTABLISHED:
                    continue
                if conn.raddr and conn.raddr.ip == host and conn.raddr.port == port:
                    ports.add(conn.laddr.port)
        except psutil.Error:
            continue
    return sorted(ports)


def _remove_cgroup(cgroup: Path) -> list[str]:
    try:
        cgroup.rmdir()
    except FileNotFoundError:
        return []
    except OSError as exc:
        return [f"cgroup {cgroup}: {exc}"]
    return []


def _split_rule(spec: str) -> list[str]:
    return shlex.split(spec)
