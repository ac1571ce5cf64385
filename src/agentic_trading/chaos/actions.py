"""The Chaos Toolkit actions of atctl's experiments: faults, their repairs, and the signal flow.

Experiment files name these as ``provider: {type: python, module:
agentic_trading.chaos.actions, func: ...}``. A fault marks the fault time on the running
:class:`~agentic_trading.chaos.session.Session` and registers its undo, so the rollback
(:func:`restore_stack`) and the runner can always take it back; a repair marks the repair time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from agentic_trading import credentials
from agentic_trading.chaos import partition as kernel
from agentic_trading.chaos import streams
from agentic_trading.chaos.errors import ChaosError, FaultError
from agentic_trading.chaos.observe import poll_until
from agentic_trading.chaos.pressure import (
    MalformedFlood,
    RedisSpin,
    fill_redis,
    free_redis,
    spin_could_not_test,
    spin_made_it_late,
)
from agentic_trading.chaos.proxy import FaultProxy
from agentic_trading.chaos.session import Session, current, sigint_deferred
from agentic_trading.chaos.signals import SignalFlow
from agentic_trading.chaos.toxics import Toxics
from agentic_trading.stack.programs import get_program
from agentic_trading.stack.supervisor import RUNNING

READY_WITHIN_S = 10.0


def start_signal_flow(per_s: float = 5.0) -> str:
    session = current()
    session.flow = SignalFlow(session.stack.settings, session.loop, per_s, tag=f"chaos-{session.experiment.name}")
    session.flow.start()
    session.on_undo("signal-flow", session.flow.stop)
    return f"{per_s:g} signals/s"


def send_signal_burst(count: int = 1000, concurrency: int = 50) -> dict[str, int]:
    """``count`` fresh signals, ``concurrency`` at a time, through the running flow (so they are settled too)."""
    session = current()
    if session.flow is None:
        raise ChaosError("send_signal_burst needs start_signal_flow before it")
    accepted = session.flow.burst(count, concurrency)
    session.progress(f"burst of {count} signals ({concurrency} at a time): {accepted} accepted")
    return {"sent": count, "accepted": accepted}


def stop_program(name: str) -> str:
    session = current()
    session.on_undo(f"stopped:{name}", lambda: _start_if_stopped(name))
    with sigint_deferred():  # the stop completes before a Ctrl-C's rollback looks at the program
        session.mark_fault(f"stopped {name} (SIGTERM)")
        session.stack.stop(name)
    return name


def start_program(name: str, timeout_s: float = 30.0) -> str:
    """Start ``name``; the repair is marked the moment its health probe first answers.

    Its start-up time (a Python service takes 0.1-3 s, depending on the machine's load)
    belongs to the service, not to the alert path, so resolution is timed from then.
    """
    session = current()
    stack = session.stack
    stack.supervisor.start(name, wait=False)
    probe = get_program(name).probe
    if poll_until(lambda: probe.check(stack.settings).ok, timeout_s, interval_s=0.05) is None:
        raise FaultError(f"{name} did not answer its health probe within {timeout_s:g} s of its start (atctl logs {name})")
    session.mark_repair(f"started {name}")
    stack.wait_healthy([name], timeout=timeout_s)
    return name


def kill_program(name: str) -> int:
    """SIGKILL, as a crash: supervisord restarts it."""
    session = current()
    pid = session.stack.kill(name)
    session.mark_fault(f"killed {name} (SIGKILL, pid {pid})")
    return pid


def pause_program(name: str, marks_fault: bool = True) -> str:
    """SIGSTOP: alive but hung. ``marks_fault: false`` when a later action completes the fault."""
    session = current()
    session.on_undo(f"paused:{name}", lambda: session.stack.resume(name))
    if marks_fault:
        session.mark_fault(f"paused {name} (SIGSTOP)")
    else:
        session.progress(f"paused {name} (SIGSTOP)")
    session.stack.pause(name)
    return name


def resume_program(name: str) -> str:
    session = current()
    session.mark_repair(f"resumed {name} (SIGCONT)")
    session.undo(f"paused:{name}")
    return name


def _start_if_stopped(name: str) -> None:
    stack = current().stack
    info = stack.supervisor.info(name)[0]
    if info.state != RUNNING:
        stack.start(name)


def partition_program(name: str, dependency: str = "nats") -> str:
    """Drop every packet between ``name`` and ``dependency`` (kernel; a timeout, not a refusal)."""
    session = current()
    pid = session.stack.supervisor.info(name)[0].pid
    if not pid:
        raise FaultError(f"{name} is not running: cannot partition it")
    active = kernel.partition(
        pid, session.stack.settings.port(dependency), kernel.fault_tag(session.tag, name, session.experiment.name)
    )
    session.on_undo(f"partition:{name}", lambda: _raise_problems(kernel.heal(active)))
    session.mark_fault(f"partitioned {name} from {dependency}: {active.describe()}")
    return active.describe()


def heal_program(name: str) -> str:
    session = current()
    if not session.undo(f"partition:{name}"):
        raise ChaosError(f"{name} is not partitioned")
    session.mark_repair(f"healed the partition of {name}")
    return name


def reroute_through_proxy(name: str, dependency: str = "nats") -> int:
    """Put the fault proxy (no toxics yet) on the edge from ``name`` to ``dependency``; return its port."""
    session = current()
    pid = session.stack.supervisor.info(name)[0].pid
    if not pid:
        raise FaultError(f"{name} is not running: cannot reroute it")
    port = session.stack.settings.port(dependency)
    proxy = FaultProxy("127.0.0.1", port)
    proxy_port = session.loop.run(proxy.start(), timeout=5)
    session.on_undo(f"proxy:{name}", lambda: session.loop.run(proxy.close(), timeout=10))
    with _quiet_connection_cut(name):
        active = kernel.reroute(pid, port, proxy_port, kernel.fault_tag(session.tag, name, session.experiment.name))
        session.on_undo(f"reroute:{name}", lambda: _end_reroute_quietly(name, active))
        cut = kernel.keep_through_proxy(active, READY_WITHIN_S)
    if cut:
        session.progress(f"cut {cut} reconnect(s) of {name} that went around the proxy (an old conntrack tuple)")
    session.extras[f"proxy:{name}"] = proxy
    session.progress(f"{name} → {dependency} now through the fault proxy on port {proxy_port}")
    return proxy_port


def set_toxics(name: str, latency_ms: float = 0, jitter_ms: float = 0, bandwidth_bps: float = 0, mode: str = "pass") -> str:
    """Change the proxy's toxics on ``name``'s rerouted edge; no toxics is the repair."""
    session = current()
    proxy = session.extras.get(f"proxy:{name}")
    if not isinstance(proxy, FaultProxy):
        raise ChaosError(f"{name} is not rerouted through the proxy: call reroute_through_proxy first")
    toxics = Toxics(latency_ms=latency_ms, jitter_ms=jitter_ms, bandwidth_bps=bandwidth_bps, mode=mode)
    session.loop.run(proxy.set_toxics(toxics), timeout=5)
    if toxics == Toxics():
        session.mark_repair(f"proxy on {name}'s edge passes traffic untouched again")
    else:
        # The client reconnects through the proxy on its own schedule (its health may answer first).
        if not poll_until(lambda: proxy.connections > 0, READY_WITHIN_S):
            raise FaultError(
                f"the proxy on {name}'s edge carried no connection within {READY_WITHIN_S:g} s: the fault would hit nothing"
            )
        session.mark_fault(f"{toxics.describe()} on {name}'s edge ({proxy.connections} connection(s))")
    return toxics.describe()


def end_reroute(name: str) -> str:
    session = current()
    session.undo(f"reroute:{name}")
    session.undo(f"proxy:{name}")
    session.extras.pop(f"proxy:{name}", None)
    return name


def _end_reroute_quietly(name: str, active: kernel.Reroute) -> None:
    with _quiet_connection_cut(name):
        _raise_problems(kernel.end_reroute(active))


@contextmanager
def _quiet_connection_cut(name: str) -> Iterator[None]:
    """Hold the signal flow while ``name``'s connection is cut and re-made, until it is ready again."""
    session = current()
    flow = session.flow
    if flow is None:
        yield
        return
    with flow.held_back():
        yield
        ready = session.stack.settings.url(name) + ("/readyz" if name == "gateway" else "/healthz")
        if not poll_until(lambda: _answers_ok(session, ready), READY_WITHIN_S):
            session.problem(f"{name} not ready {READY_WITHIN_S:g} s after its connection was re-made")


def _answers_ok(session: Session, url: str) -> bool:
    try:
        return session.http.get(url).status_code == 200
    except httpx.HTTPError:
        return False


def _raise_problems(problems: list[str]) -> None:
    if problems:
        raise FaultError("; ".join(problems))


def mark_fault_when_consumer_lags(consumer: str, above: int = 1000, within_s: float = 180.0) -> int:
    """Poll NATS (``/jsz``) until ``consumer`` has more than ``above`` messages not yet delivered; mark the fault then.

    For lag built by traffic: how fast it builds depends on the traffic and the machine,
    not on the alert path, so the alert is timed from the moment the lag is real.
    """
    session = current()
    url = session.stack.settings.url("nats-monitor") + "/jsz"

    def pending() -> int | None:
        jsz = session.http.get(url, params={"consumers": "true"}).json()
        for account in jsz.get("account_details", []):
            for stream in account.get("stream_detail", []):
                for detail in stream.get("consumer_detail", []):
                    if detail.get("name") == consumer and int(detail.get("num_pending", 0)) > above:
                        return int(detail["num_pending"])
        return None

    found = poll_until(pending, within_s, interval_s=0.1)
    if found is None:
        raise FaultError(f"{consumer} never had more than {above} messages pending within {within_s:g} s: the lag did not build")
    session.mark_fault(f"{consumer} has {found} messages pending (more than {above})")
    return found


def start_malformed_flood(per_s: float = 20.0) -> str:
    session = current()
    flood = MalformedFlood(session.stack.settings, session.loop, per_s)
    flood.start()
    session.on_undo("flood", flood.stop)
    session.mark_fault(f"flood of the specification's malformed webhooks at {per_s:g}/s")
    return f"{per_s:g}/s"


def stop_malformed_flood() -> str:
    session = current()
    session.undo("flood")
    session.mark_repair("flood stopped")
    return "stopped"


def fill_redis_memory(percent: float = 93.0) -> float:
    session = current()
    url = credentials.redis_url(session.stack.settings, credentials.ADMIN)
    session.on_undo("redis-fill", lambda: free_redis(url))
    reached = fill_redis(url, percent)
    session.mark_fault(f"Redis filled to {reached:.1f} % of maxmemory")
    return round(reached, 1)


def free_redis_memory() -> str:
    session = current()
    session.undo("redis-fill")
    session.mark_repair("fill keys deleted")
    return "freed"


def reconfigure_stream(
    stream: str, subjects: list[str] | None = None, max_bytes: int | None = None, marks_fault: bool = True
) -> str:
    """Change ``stream``'s subjects or max_bytes on the running NATS; the undo puts its configuration back.

    ``marks_fault: false`` when the change only prepares the fault (a lower limit that traffic fills).
    """
    session = current()
    changes: dict[str, object] = {}
    if subjects is not None:
        changes["subjects"] = subjects
    if max_bytes is not None:
        changes["max_bytes"] = max_bytes
    if not changes:
        raise ChaosError("reconfigure_stream needs subjects or max_bytes")
    settings = session.stack.settings
    before = session.loop.run(streams.reconfigure_stream(settings, stream, **changes), timeout=15)
    session.on_undo(f"stream:{stream}", lambda: session.loop.run(streams.restore_stream(settings, before), timeout=15))
    what = ", ".join(f"{k} {before.__dict__[k]!r} -> {v!r}" for k, v in changes.items())
    if marks_fault:
        session.mark_fault(f"stream {stream} reconfigured: {what}")
    else:
        session.progress(f"stream {stream} reconfigured: {what}")
    return what


def restore_stream(stream: str, marks_repair: bool = True) -> str:
    """Put ``stream``'s configuration back; ``marks_repair: false`` when another action was the repair."""
    session = current()
    if not session.undo(f"stream:{stream}"):
        raise ChaosError(f"stream {stream} was not reconfigured")
    if marks_repair:
        session.mark_repair(f"stream {stream} configured as before")
    else:
        session.progress(f"stream {stream} configured as before")
    return stream


def add_stuck_consumer(stream: str, durable: str = "chaos-stuck") -> str:
    """A durable consumer nobody reads: under interest retention ``stream`` keeps every new message."""
    session = current()
    settings = session.stack.settings
    session.loop.run(streams.add_stuck_consumer(settings, stream, durable), timeout=15)
    session.on_undo(
        f"consumer:{durable}", lambda: session.loop.run(streams.delete_consumer(settings, stream, durable), timeout=15)
    )
    session.progress(f"consumer {durable} on {stream} that nobody reads")
    return durable


def delete_stuck_consumer(durable: str = "chaos-stuck") -> str:
    session = current()
    if not session.undo(f"consumer:{durable}"):
        raise ChaosError(f"no consumer {durable} was added")
    session.mark_repair(f"consumer {durable} deleted: the stream lets go of what the others acknowledged")
    return durable


def fill_stream(stream: str, percent: float = 85.0, batch: int = 20, within_s: float = 120.0) -> float:
    """Send signals (in bursts of ``batch``) until ``stream`` holds ``percent`` of its max_bytes; mark the fault then.

    Timed from the moment the stream is that full: how fast it fills depends on the traffic
    and the machine, not on the alert path.
    """
    session = current()
    if session.flow is None:
        raise ChaosError("fill_stream needs start_signal_flow before it")
    url = session.stack.settings.url("nats-monitor") + "/jsz"
    deadline = time.monotonic() + within_s

    def fullness() -> float:
        found = streams.stream_fullness(session.http.get(url, params={"streams": "true", "config": "true"}).json(), stream)
        if found is None or found[1] <= 0:
            raise FaultError(f"stream {stream} has no max_bytes to fill toward")
        return 100.0 * found[0] / found[1]

    while (reached := fullness()) < percent:
        if time.monotonic() >= deadline:
            raise FaultError(f"stream {stream} reached only {reached:.0f} % of max_bytes in {within_s:g} s")
        session.flow.burst(batch, batch)
    session.mark_fault(f"stream {stream} filled to {reached:.0f} % of max_bytes")
    return round(reached, 1)


def burn_cpu(name: str = "redis") -> str:
    """A single-threaded CPU burn attributed to ``name`` (Redis: Lua busy loops in its one thread)."""
    session = current()
    if name != "redis":
        raise ChaosError(f"burn_cpu can spin redis only (a Lua loop runs in its thread), not {name}")
    pid = session.stack.supervisor.info(name)[0].pid or None  # its main thread runs the Lua
    url = credentials.redis_url(session.stack.settings, credentials.ADMIN)
    spin = RedisSpin(url, pid=pid, group_pid=session.stack.supervisor.pid())  # supervisord: its session's group
    session.on_undo(f"spin:{name}", spin.stop)
    spin.start()
    session.mark_fault(f"CPU spin in {name} (Lua busy loops in its one thread, nice {spin.nice})")
    session.extras["explain_silence"] = lambda alert: spin_could_not_test(session.alert_path, name, alert, session.fault_at)
    session.extras["explain_late"] = lambda alert: spin_made_it_late(session.alert_path, name, alert, session.fault_at)
    return name


def stop_cpu_burn(name: str = "redis") -> float | None:
    """End the spin (the repair); report the most of a core ``name`` got meanwhile, and the machine's load."""
    session = current()
    if not session.undo(f"spin:{name}"):
        raise ChaosError(f"no CPU burn in {name}")
    session.mark_repair(f"CPU spin in {name} stopped")
    seconds = max(1, round(time.time() - (session.fault_at or time.time())))
    most = session.alert_path.query_max(f'max_over_time(process_cpu_core_usage_percent{{service="{name}"}}[{seconds}s])')
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if most is not None:
        session.progress(f"{name} used at most {most:.0f} % of a core during the spin (load {load:.1f} on {cores} cores)")
    return most


def restore_stack(within_s: float = 60.0) -> str:
    """Undo every fault still active, then wait until every program is healthy."""
    session = current()
    failures = session.undo_all()
    session.stack.wait_healthy(session.programs_to_check(), timeout=within_s)
    if failures:
        raise FaultError("; ".join(failures))
    return "restored"
