"""The text, JSON, JUnit and HTML renderings of one hand-made report."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from rich.console import Console

from agentic_trading.verify import Report, Result, Status
from agentic_trading.verify.html import render_html
from agentic_trading.verify.report import render_junit, render_text, report_json


def _result(category: str, name: str, status: Status, message: str = "ok", query: str | None = None, details=()) -> Result:
    return Result(category, name, f"what {name} checks", status, message, 0.25, query, tuple(details))


REPORT = Report(
    results=[
        _result(
            "collection", "targets up", Status.failed, "1 of 12 targets down: nats-exporter", "up == 0", ["job nats: refused"]
        ),
        _result("collection", "series up", Status.passed, "12 series", "up"),
        _result("accuracy", "range agent_confidence_score", Status.failed, '1 of 4 series outside [0, 1]: <x> & "y"', "a > 1"),
        _result("dashboards", "grafana import", Status.skipped, "no --grafana-url given"),
        _result("alerts", "runbooks", Status.passed, "all 15 alerts have a runbook"),
        _result("health", "recent ingestion", Status.passed, "newest sample 0.4 s old"),
    ],
    duration_s=3.5,
    endpoints={"prometheus": "http://127.0.0.1:9090"},
)


def test_json_is_one_object_with_counts_and_every_check() -> None:
    body = json.loads(json.dumps(report_json(REPORT)))
    assert (body["passed"], body["failed"], body["skipped"]) == (3, 2, 1)
    assert len(body["checks"]) == 6
    first = body["checks"][0]
    assert set(first) == {"category", "name", "status", "message", "duration_s", "query", "details"}
    assert first["status"] == "failed" and first["query"] == "up == 0" and first["details"] == ["job nats: refused"]
    assert "query" not in body["checks"][3] and "details" not in body["checks"][3]


def test_junit_has_a_suite_per_category_and_failure_elements() -> None:
    root = ET.fromstring(render_junit(REPORT))
    assert root.tag == "testsuites" and root.get("tests") == "6" and root.get("failures") == "2"
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["collection", "accuracy", "dashboards", "alerts", "health"]
    collection = suites["collection"]
    assert (collection.get("tests"), collection.get("failures")) == ("2", "1")
    failure = collection.find("testcase[@name='targets up']/failure")
    assert failure is not None and failure.get("message") == "1 of 12 targets down: nats-exporter"
    assert "query: up == 0" in failure.text and "checked: what targets up checks" in failure.text
    assert suites["dashboards"].find("testcase/skipped").get("message") == "no --grafana-url given"
    accuracy = suites["accuracy"].find("testcase/failure")
    assert accuracy.get("message") == '1 of 4 series outside [0, 1]: <x> & "y"'


def test_text_says_what_was_checked_found_and_the_query_for_each_failure() -> None:
    console = Console(record=True, width=200, color_system=None)
    render_text(REPORT, console)
    text = console.export_text()
    assert "checked: what targets up checks" in text
    assert "found:   1 of 12 targets down: nats-exporter" in text
    assert "query:   up == 0" in text
    assert "· job nats: refused" in text
    assert "FAILED: 3 passed, 2 failed, 1 skipped in 3.5 s" in text
    assert "series up" not in text, "passed checks are listed only with --verbose"
    verbose = Console(record=True, width=200, color_system=None)
    render_text(REPORT, verbose, verbose=True)
    assert "series up" in verbose.export_text()


def test_html_is_self_contained_with_a_section_per_category() -> None:
    html = render_html(REPORT, generated_at=datetime(2026, 1, 15, 10, 30, tzinfo=UTC))
    for category in ("collection", "accuracy", "dashboards", "alerts", "health"):
        assert f'id="category-{category}"' in html
    assert "<style>" in html and "<script" not in html and "<link" not in html
    assert not re.search(r'(src|href)="https?:', html), "nothing is fetched"
    assert "&lt;x&gt; &amp; &quot;y&quot;" in html, "messages are escaped"
    assert '<span class="badge failed">failed</span>' in html and "2026-01-15 10:30:00 UTC" in html
    assert "<pre>up == 0</pre>" in html
