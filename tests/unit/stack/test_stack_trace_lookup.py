"""Finding a signal by either id (Redis first, then the gateway's recent log), and its verdict.

Runs against a real redis-server (the ``redis_url`` fixture) holding what the orchestrator
writes: the decision record, the correlation index and a waiting workflow.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import redis

from agentic_trading.stack.trace_lookup import UnknownTraceIdError, find_trace, quick_redis, target_from_records


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _log(log_dir: Path, service: str, epoch: float, event: str, cid: str, sid: str, **fields: object) -> None:
    record = {"event": event, "service": service, "correlation_id": cid, "signal_id": sid, "level": "info", "ts": _iso(epoch)}
    with (log_dir / f"{service}.log").open("a") as handle:
        handle.write(json.dumps({**fields, **record}) + "\n")


@pytest.fixture
def client(redis_url):
    c = redis.Redis.from_url(redis_url)
    c.flushdb()
    yield c
    c.close()


def _decided_signal(client: redis.Redis, log_dir: Path, cid: str, sid: str) -> float:
    now = time.time()
    _log(log_dir, "gateway", now - 0.2, "signal_accepted", cid, sid)
    _log(log_dir, "agent-risk", now - 0.1, "opinion_published", cid, sid, agent_type="risk")
    _log(log_dir, "orchestrator", now, "decision_published", cid, sid, decision="execute", decided_at=now)
    decision = {
        "signal_id": sid,
        "correlation_id": cid,
        "decision": "execute",
        "status": "complete",
        "decided_at": now,
        "latency_s": 0.2,
    }
    client.set(f"at:decision:{sid}", orjson.dumps(decision))
    client.set(f"at:correlation:{cid}", sid)
    return now


def test_signal_id_and_correlation_id_give_the_same_trace(client, tmp_path):
    _decided_signal(client, tmp_path, "corr-1", "sig_1")
    _decided_signal(client, tmp_path, "corr-2", "sig_2")
    by_signal = find_trace("sig_1", tmp_path, client, timeout=0)
    by_correlation = find_trace("corr-1", tmp_path, client, timeout=0)
    assert [e.record for e in by_signal.trace.events] == [e.record for e in by_correlation.trace.events]
    assert [e.service for e in by_signal.trace.events] == ["gateway", "agent-risk", "orchestrator"]
    assert by_signal.trace.decision is not None and by_signal.target.decision["decision"] == "execute"


def test_an_unknown_id_is_refused_at_once_with_exit_code_2(client, tmp_path):
    _decided_signal(client, tmp_path, "corr-1", "sig_1")
    started = time.monotonic()
    with pytest.raises(UnknownTraceIdError) as raised:
        find_trace("no-such-id", tmp_path, client, timeout=5)
    assert time.monotonic() - started < 1.0
    assert raised.value.exit_code == 2 and "no-such-id" in str(raised.value)


def test_a_waiting_signal_is_known_but_undecided_after_the_timeout(client, tmp_path):
    now = time.time()
    signal = {"signal_id": "sig_w", "correlation_id": "corr-w", "received_at": now}
    client.hset("at:wf:sig_w", "signal", orjson.dumps(signal))
    client.set("at:correlation:corr-w", "sig_w")
    _log(tmp_path, "gateway", now, "signal_accepted", "corr-w", "sig_w")
    ticks = iter(range(100))
    result = find_trace(
        "corr-w", tmp_path, client, timeout=1.0, interval=0.25, clock=lambda: next(ticks) * 0.25, sleep=lambda s: None
    )
    assert result.target.decision is None and result.trace.decision is None
    assert [e.event for e in result.trace.events] == ["signal_accepted"]


def test_a_signal_the_orchestrator_never_saw_is_found_in_the_gateway_log(client, tmp_path):
    _log(tmp_path, "gateway", time.time(), "signal_accepted", "corr-g", "sig_g")
    result = find_trace("corr-g", tmp_path, client, timeout=0)
    assert result.target.found_in == "gateway log" and result.target.signal_id == "sig_g"
    assert result.trace.decision is None


def test_without_redis_the_gateway_log_still_answers(tmp_path):
    dead = quick_redis("redis://127.0.0.1:1/0")
    _log(tmp_path, "gateway", time.time(), "signal_accepted", "corr-x", "sig_x")
    started = time.monotonic()
    result = find_trace("sig_x", tmp_path, dead, timeout=0)
    assert time.monotonic() - started < 1.0
    assert result.target.correlation_ids == {"corr-x"} and result.notes


def test_the_arrival_time_comes_from_the_decision_when_the_workflow_expired():
    target = target_from_records("sig_1", "sig_1", {"correlation_id": "c", "decided_at": 100.0, "latency_s": 0.5}, None)
    assert target.since.timestamp() == 99.5 and target.correlation_ids == {"c"}
