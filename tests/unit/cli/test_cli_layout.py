"""Output that fits 80 columns: wrapped only at spaces, never a token cut in two."""

from __future__ import annotations

from agentic_trading.cli.layout import aligned_lines, record_lines, wrap_words

URL = "http://127.0.0.1:30256/metrics"


def _tokens(lines: list[str]) -> list[str]:
    return " ".join(lines).split()


def test_wrapping_breaks_only_at_spaces_and_keeps_a_long_word_whole():
    text = "agent_type=correlation stance=support score=0.2 " + "x" * 90
    lines = wrap_words(text, 40, "    ")
    assert all(len(line) <= 40 for line in lines[:-1])
    assert lines[-1].strip() == "x" * 90  # too long for any line: whole, never cut
    assert _tokens(lines) == text.split()


def test_status_rows_fit_80_columns_and_a_long_health_goes_below_its_row():
    headers = ["component", "pid", "state", "uptime", "URL", "health"]
    rows = [
        ["agent-correlation", "1234567", "RUNNING", "3h02m", URL, "ok"],
        [
            "gateway",
            "88",
            "BACKOFF",
            "-",
            "http://127.0.0.1:9001",
            "crashed, restarting (Exited too quickly; see logs/gateway.log)",
        ],
    ]
    lines = aligned_lines(headers, rows, 80)
    assert max(len(line) for line in lines) <= 80
    assert lines[1].endswith(" ok") and URL in lines[1]
    assert lines[2].rstrip().endswith("http://127.0.0.1:9001")  # health moved below
    assert lines[3].startswith("    crashed,")
    assert _tokens(lines[3:]) == rows[1][-1].split()
    assert all(URL in line or "http" not in line for line in lines[:2])


def test_a_narrow_width_still_never_splits_a_cell():
    rows = [["prometheus", "1", "RUNNING", "1s", "http://127.0.0.1:30090", "ok"]]
    lines = aligned_lines(["component", "pid", "state", "uptime", "URL", "health"], rows, 40)
    assert "http://127.0.0.1:30090" in lines[1]
    assert lines[2].strip() == "ok"


def test_a_record_is_a_head_line_and_indented_details():
    lines = record_lines("2026-11-30T05:05:07.349Z orchestrator decision_published", "decision=execute " * 8, 80)
    assert lines[0] == "2026-11-30T05:05:07.349Z orchestrator decision_published"
    assert all(line.startswith("    ") and len(line) <= 80 for line in lines[1:])
