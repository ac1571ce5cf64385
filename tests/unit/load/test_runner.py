"""The generator against a stand-in target: what a user of ``atctl load`` relies on.

The point of the open model: a server that stalls for half a second once shows it in
the open model's p99, while the closed model (the specification's load_test.py) hides
it in a p99 of a few milliseconds, because its users simply stop sending while they wait.
"""

from __future__ import annotations

import json

import pytest

from _support import free_port
from agentic_trading.load.runner import LoadError, Target, TargetUnreachableError, run_closed, run_open


def test_open_model_counts_a_stall_the_closed_model_hides(stub_server):
    open_server = stub_server(stall_after_s=0.6, stall_s=0.5)
    opened = run_open(open_server.url, rate=400, duration=1.6, workers=1, seed=1)
    closed_server = stub_server(stall_after_s=0.6, stall_s=0.5)
    closed = run_closed(closed_server.url, users=4, duration=1.6, think_min=0, think_max=0, seed=1)

    assert open_server.stalled and closed_server.stalled
    assert opened.requests == open_server.received == 640
    assert opened.success_rate == 1.0
    # A quarter of the scheduled requests fell in the stall: the open p99 is the stall.
    assert opened.latency.percentile_ms(99) >= 400
    stalled_seconds = [row for row in opened.timeline.rows() if row["p99_ms"] >= 400]
    assert stalled_seconds, opened.timeline.rows()
    # The closed model saw the stall (its max) but only on the 4 requests in flight.
    assert closed.latency.max_ms >= 400
    assert closed.latency.percentile_ms(99) < 100
    assert closed.latency.percentile_ms(99) * 4 < opened.latency.percentile_ms(99)
    assert closed.requests == closed_server.received > 400
    assert opened.generator_lag is not None and closed.generator_lag is None


def test_open_model_keeps_its_rate_and_sends_distinct_valid_signals(stub_server):
    server = stub_server()
    result = run_open(server.url, rate=200, duration=1.0, workers=1)
    assert result.requests == 200 == server.received
    assert result.status_codes == {"200": 200}
    assert 150 <= result.throughput_rps <= 205
    assert result.generator_lag.dispatched == 200  # how late each left is measured (not asserted: busy CI)
    timestamps = {json.loads(body)["timestamp"] for body in server.bodies}
    assert len(timestamps) == 200
    assert {"instrument", "action", "price", "confidence"} <= set(json.loads(server.bodies[0]))


def test_statuses_chunked_bodies_and_closed_connections_are_all_understood(stub_server):
    def answer(n: int, on_connection: int) -> dict[str, object]:
        return {"status": 503 if n % 4 == 3 else 200, "chunked": n % 2 == 0, "close": n % 5 == 0}

    server = stub_server(answer=answer)
    result = run_closed(server.url, users=2, duration=0.5, think_min=0, think_max=0)
    assert result.requests == server.received
    assert set(result.status_codes) == {"200", "503"}
    assert result.status_codes["503"] == pytest.approx(result.requests / 4, abs=2)
    assert result.success_rate == pytest.approx(0.75, abs=0.02)
    assert not result.errors


def test_unanswered_requests_are_counted_as_timeouts(stub_server):
    server = stub_server(answer=lambda n, k: {"silent": n % 10 == 9})
    result = run_open(server.url, rate=50, duration=0.4, workers=1, timeout_s=0.3)
    assert result.requests == 20
    assert result.errors == {"timeout": 2}
    assert result.success_rate == pytest.approx(0.9)


def test_a_kept_alive_connection_closed_under_a_request_is_retried_once(stub_server):
    # The server drops every connection's second request unanswered, as when it times out
    # an idle connection just as the client reuses it: each is retried on a fresh one.
    server = stub_server(answer=lambda n, k: {"drop": k == 1})
    result = run_closed(server.url, users=2, duration=0.3, think_min=0.01, think_max=0.02)
    assert result.requests > 10
    assert result.success_rate == 1.0 and not result.errors
    assert server.received == 2 * result.requests - 2  # every request but the users' first was sent twice


def test_a_fresh_connection_closed_without_an_answer_is_an_error_not_a_retry(stub_server):
    server = stub_server(answer=lambda n, k: {"drop": True})
    result = run_closed(server.url, users=1, duration=0.2, think_min=0.02, think_max=0.02)
    assert result.requests >= 5
    assert result.errors == {"connection_closed": result.requests}
    assert server.received == result.requests


def test_workers_split_the_schedule_and_merge_exactly(stub_server):
    server = stub_server()
    result = run_open(server.url, rate=300, duration=1.0, workers=2)
    assert result.model["workers"] == 2
    assert result.requests == 300 == server.received
    assert [row["requests"] for row in result.timeline.rows()] == [300]
    assert result.generator_lag.dispatched == 300


def test_a_target_nobody_listens_on_is_reported_as_unreachable():
    url = f"http://127.0.0.1:{free_port()}/webhook/tradingview"
    with pytest.raises(TargetUnreachableError) as caught:
        run_open(url, rate=10, duration=0.2)
    assert caught.value.exit_code == 2
    assert str(caught.value).startswith(f"gateway at {url} is not answering")
    assert "is the stack up? (atctl status)" in str(caught.value)


def test_target_urls_are_checked():
    assert Target.parse("http://localhost:8001/webhook/test").request_head.startswith(
        b"POST /webhook/test HTTP/1.1\r\nHost: localhost:8001\r\n"
    )
    assert Target.parse("https://gw.example/hook").port == 443
    with pytest.raises(LoadError, match="not an http"):
        Target.parse("127.0.0.1:8001")
