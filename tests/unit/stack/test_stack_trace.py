"""Tracing one correlation id: JSON lines from every log, sorted by time, ending in the decision."""

from __future__ import annotations

import json
from pathlib import Path

from agentic_trading.stack.logs import make_line
from agentic_trading.stack.trace import TraceCollector, build_trace, wait_for_trace

CID = "corr-42"


def _line(ts: str, service: str, event: str, correlation_id: str = CID, **fields: object) -> str:
    record = {
        "ts": ts,
        "level": "info",
        "event": event,
        "service": service,
        "correlation_id": correlation_id,
        "signal_id": "sig_1",
        **fields,
    }
    return json.dumps(record)


FIXTURE = {
    "gateway": [
        "INFO:     Started server process [123]",  # plain text from uvicorn: skipped
        _line("2026-01-01T10:00:00.100000Z", "gateway", "signal_accepted", instrument="EURUSD"),
        _line("2026-01-01T10:00:00.200000Z", "gateway", "signal_accepted", correlation_id="other"),
    ],
    "agent-risk": [
        _line("2026-01-01T10:00:00.300000Z", "agent-risk", "opinion_published", stance="oppose", confidence=0.9),
        "{not json",
    ],
    "orchestrator": [
        _line("2026-01-01T10:00:00.150000Z", "orchestrator", "workflow_started"),
        _line("2026-01-01T10:00:00.400000Z", "orchestrator", "decision_published", decision="reject"),
    ],
}


def _write_logs(log_dir: Path, files: dict[str, list[str]]) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    for service, lines in files.items():
        (log_dir / f"{service}.log").write_text("\n".join(lines) + "\n")


def test_events_are_sorted_by_time_across_services() -> None:
    lines = [make_line(service, text) for service, texts in FIXTURE.items() for text in texts]
    trace = build_trace(lines, CID)
    assert [(e.service, e.event) for e in trace.events] == [
        ("gateway", "signal_accepted"),
        ("orchestrator", "workflow_started"),
        ("agent-risk", "opinion_published"),
        ("orchestrator", "decision_published"),
    ]
    assert trace.decision is not None and trace.decision.fields == {"decision": "reject"}


def test_other_correlation_ids_and_non_json_lines_are_left_out() -> None:
    lines = [make_line(service, text) for service, texts in FIXTURE.items() for text in texts]
    assert all(e.record["correlation_id"] == CID for e in build_trace(lines, CID).events)
    assert len(build_trace(lines, "other").events) == 1


def test_details_show_event_specific_fields_only() -> None:
    event = build_trace([make_line("agent-risk", FIXTURE["agent-risk"][0])], CID).events[0]
    assert event.details() == "stance=oppose confidence=0.9"


def test_lines_without_timestamp_go_last() -> None:
    lines = [
        make_line("x", json.dumps({"event": "no_ts", "correlation_id": CID, "service": "x"})),
        make_line("y", _line("2026-01-01T10:00:00Z", "y", "with_ts")),
    ]
    assert [e.event for e in build_trace(lines, CID).events] == ["with_ts", "no_ts"]


def test_trace_reads_every_log_file(tmp_path: Path) -> None:
    _write_logs(tmp_path, FIXTURE)
    trace = wait_for_trace(tmp_path, CID, timeout=0)
    assert trace.decision is not None
    assert trace.services == ["agent-risk", "gateway", "orchestrator"]


def test_trace_waits_for_the_decision_line(tmp_path: Path) -> None:
    _write_logs(tmp_path, {k: v for k, v in FIXTURE.items() if k != "orchestrator"})
    collector = TraceCollector(tmp_path, CID)
    assert collector.poll().decision is None
    _write_logs(tmp_path, {"orchestrator": FIXTURE["orchestrator"]})
    trace = collector.poll()
    assert trace.decision is not None
    assert len(trace.events) == 4  # nothing read twice


def test_trace_gives_up_at_the_deadline(tmp_path: Path) -> None:
    _write_logs(tmp_path, {"gateway": FIXTURE["gateway"]})
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    trace = wait_for_trace(tmp_path, CID, timeout=1.0, interval=0.25, clock=lambda: now[0], sleep=sleep)
    assert trace.decision is None
    assert len(trace.events) == 1
    assert now[0] == 1.0


def test_to_dict_carries_the_decision() -> None:
    lines = [make_line("orchestrator", text) for text in FIXTURE["orchestrator"]]
    body = build_trace(lines, CID).to_dict()
    assert body["decision"]["decision"] == "reject"
    assert len(body["events"]) == 2
