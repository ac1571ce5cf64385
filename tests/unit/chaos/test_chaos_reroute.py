"""The proxy reroute against a real kernel: a reconnect that conntrack mistakes for an old connection is caught.

``gateway-slow-nats`` once failed inside ``--all`` because the gateway reconnected to NATS
directly, 60 ms after the reroute cut it: the NAT ``REDIRECT`` is only consulted for a
connection conntrack sees as new, and a reconnect whose four-tuple matches a connection
conntrack still remembers is not new. Here a child process of the test plays the program: it
reconnects from a source port for which the test left such an entry (neither reset of the
old connection reached conntrack). The reroute alone lets the reconnect
around the proxy; :func:`partition.keep_through_proxy` cuts it, and the next one is proxied.

Needs root, iptables, ``ss`` and cgroup v2, as the faults do. Only the test's own sockets,
child, rules (tagged ``atctl-chaos:unittest<pid>-``) and cgroups are touched.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from _support import poll_until
from agentic_trading.chaos import partition
from agentic_trading.chaos.errors import FaultUnavailableError

PREFIX = f"unittest{os.getpid()}-"

CLIENT = """
import socket, sys, time
port, later_from = int(sys.argv[1]), int(sys.argv[2])
first = True
while True:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if not first:
        s.bind(("127.0.0.1", later_from))  # every reconnect from the port conntrack remembers
    first = False
    try:
        s.connect(("127.0.0.1", port))
        while s.recv(1024):
            pass
    except OSError:
        pass
    s.close()
    time.sleep(0.02)
"""


def _kernel_faults_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root (iptables, cgroups), as the faults do"
    try:
        partition.iptables()
        partition.ss()
        partition.cgroup2_root()
    except FaultUnavailableError as exc:
        return str(exc)
    if not Path("/proc/net/nf_conntrack").exists():
        return "no /proc/net/nf_conntrack to check the old entry against"
    return None


pytestmark = pytest.mark.skipif(_kernel_faults_available() is not None, reason=str(_kernel_faults_available()))


class Listener:
    """A loopback listener that accepts without blocking and keeps every connection open."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.setblocking(False)
        self.port = int(self.sock.getsockname()[1])
        self.peers: list[int] = []
        self._held: list[socket.socket] = []

    def accept_all(self) -> list[int]:
        while True:
            try:
                conn, (_, peer) = self.sock.accept()
            except BlockingIOError:
                return self.peers
            self._held.append(conn)
            self.peers.append(int(peer))

    def connection_from(self, port: int) -> socket.socket:
        poll_until(lambda: port in self.accept_all(), timeout_s=5, interval_s=0.01, what=f"a connection from port {port}")
        return self._held[self.peers.index(port)]

    def close(self) -> None:
        for conn in self._held:
            conn.close()
        self.sock.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([partition.iptables(), "-w", "5", *args], capture_output=True, text=True, check=False)


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def leave_a_remembered_tuple(source_port: int, listener: Listener) -> None:
    """A connection source_port -> listener that conntrack still holds ESTABLISHED: both resets dropped before it (raw).

    So a gateway's connection looks to conntrack when its end went unseen (the NAT table's
    first packets are dropped too, or a socket vanished under a partition). The test's own
    flow ends it: the cut below is a reset conntrack sees.
    """
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    client.bind(("127.0.0.1", source_port))
    client.connect(("127.0.0.1", listener.port))
    server_side = listener.connection_from(source_port)
    tail = ["-m", "comment", "--comment", partition.COMMENT_PREFIX + PREFIX + "raw", "-j", "DROP"]
    edge = ["-o", "lo", "-p", "tcp", "-s", "127.0.0.1", "-d", "127.0.0.1"]
    rules = [
        ["OUTPUT", *edge, "--sport", str(source_port), "--dport", str(listener.port), *tail],
        ["OUTPUT", *edge, "--sport", str(listener.port), "--dport", str(source_port), *tail],
    ]
    inserted = []
    try:
        for rule in rules:
            assert _iptables("-t", "raw", "-I", *rule).returncode == 0
            inserted.append(rule)
        _reset(client)
        _reset(server_side)
    finally:
        for rule in inserted:
            assert _iptables("-t", "raw", "-D", *rule).returncode == 0
    entry = f"ESTABLISHED src=127.0.0.1 dst=127.0.0.1 sport={source_port} dport={listener.port} "
    found = [line for line in Path("/proc/net/nf_conntrack").read_text().splitlines() if f"sport={source_port} " in line]
    assert any(entry in line for line in found), found


@pytest.fixture
def edges() -> Iterator[tuple[Listener, Listener]]:
    """The dependency and the proxy, with conntrack tracking loopback meanwhile.

    The kernel only tracks connections while some rule needs it (a REDIRECT does; measured:
    a NAT rule that only RETURNs does not); so, in a chaos run, from a reroute's first rule
    to its last. Here a rule with a conntrack match and no target (it only counts, for the
    dependency's port) keeps it on from before the old connection is made.
    """
    dependency, proxy = Listener(), Listener()
    keeper = ["OUTPUT", "-o", "lo", "-p", "tcp", "-d", "127.0.0.1", "--dport", str(dependency.port)]
    keeper += ["-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", partition.COMMENT_PREFIX + PREFIX + "ct"]
    assert _iptables("-A", *keeper).returncode == 0
    try:
        yield dependency, proxy
    finally:
        dependency.close()
        proxy.close()
        partition.remove_leftovers(PREFIX)


def test_a_reconnect_conntrack_takes_for_an_old_connection_is_cut_until_it_goes_through_the_proxy(
    edges: tuple[Listener, Listener],
) -> None:
    dependency, proxy = edges
    remembered = _free_port()
    child = subprocess.Popen([sys.executable, "-c", CLIENT, str(dependency.port), str(remembered)])
    try:
        poll_until(dependency.accept_all, timeout_s=10, interval_s=0.01, what="the client's first connection")
        leave_a_remembered_tuple(remembered, dependency)
        tag = partition.fault_tag(PREFIX, "client", "reroute-test")
        active = partition.reroute(child.pid, dependency.port, proxy.port, tag)
        try:
            # The bug: the reconnect from the remembered port skips the REDIRECT and reaches the dependency.
            dependency.connection_from(remembered)
            assert proxy.accept_all() == []

            cut = partition.keep_through_proxy(active, within_s=10)

            assert cut >= 1
            assert remembered in proxy.accept_all()
            proxied, around = partition._split_by_proxy(active)
            assert (proxied, around) == ([remembered], [])
        finally:
            assert partition.end_reroute(active) == []
        assert partition.active_rules(PREFIX + "client") == []
        assert partition.leftover_cgroups(PREFIX) == []
    finally:
        child.kill()
        child.wait(timeout=10)


def test_each_fault_gets_a_cgroup_of_its_own_and_cleanup_by_program_finds_it() -> None:
    first = partition.fault_tag(PREFIX, "gateway", "nats-partition")
    second = partition.fault_tag(PREFIX, "gateway", "nats-partition")

    assert first != second
    assert first.startswith(PREFIX + "gateway-nats-partition-")
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)  # lives until killed
    try:
        confined = partition.confine(child.pid, first)
        assert f"/{confined.cgroup.name}" in Path(f"/proc/{child.pid}/cgroup").read_text()
        assert partition.remove_leftovers(PREFIX + "gateway") == [str(confined.cgroup)]  # emptied and removed
        assert partition.leftover_cgroups(PREFIX) == []
        assert f"/{confined.cgroup.name}" not in Path(f"/proc/{child.pid}/cgroup").read_text()
    finally:
        child.kill()
        child.wait(timeout=10)
