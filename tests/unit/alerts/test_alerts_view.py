"""The rows of `atctl alerts`: Prometheus and Alertmanager joined, runbooks as paths, silences."""

from __future__ import annotations

from datetime import UTC, datetime

from agentic_trading.alerts.view import age, alert_rows, runbook_path, silence_request, silence_rows, status_text

RUNBOOK = "file:///srv/agentic-trading/docs/runbooks/AgentDown.md"


def prometheus_alert(name: str, severity: str, service: str, state: str = "firing") -> dict:
    return {
        "labels": {"alertname": name, "severity": severity, "service": service},
        "annotations": {"summary": f"{name} summary", "runbook_url": RUNBOOK.replace("AgentDown", name)},
        "state": state,
        "activeAt": "2027-01-15T08:00:00.123456789Z",
    }


def test_rows_join_alertmanager_state_and_put_pages_first() -> None:
    prometheus = [
        prometheus_alert("Watchdog", "none", "prometheus"),
        prometheus_alert("HighCPU", "warning", "gateway"),
        prometheus_alert("AgentDown", "critical", "agent-risk"),
        prometheus_alert("GatewayDown", "critical", "gateway", state="pending"),
    ]
    manager = [
        {"labels": prometheus[1]["labels"], "status": {"silencedBy": ["s1"], "inhibitedBy": []}},
        {"labels": prometheus[2]["labels"], "status": {"silencedBy": [], "inhibitedBy": []}},
    ]
    rows = alert_rows(prometheus, manager)
    assert [(r.alertname, r.state) for r in rows] == [
        ("AgentDown", "notified"),
        ("GatewayDown", "pending"),
        ("HighCPU", "silenced"),
        ("Watchdog", "firing"),
    ]
    assert rows[0].runbook == "docs/runbooks/AgentDown.md" and rows[0].service == "agent-risk"
    assert status_text(rows).splitlines() == [
        "Firing: AgentDown (critical, agent-risk), HighCPU (warning, gateway)",
        "        (details: atctl alerts)",
    ]


def test_without_alertmanager_rows_keep_prometheus_state() -> None:
    rows = alert_rows([prometheus_alert("AgentDown", "critical", "agent-risk")], None)
    assert rows[0].state == "firing"


def test_a_healthy_stack_summary_and_a_silent_pipeline_differ() -> None:
    assert status_text(alert_rows([prometheus_alert("Watchdog", "none", "prometheus")], [])) == (
        "Firing: nothing but the Watchdog  (details: atctl alerts)"
    )
    assert status_text([]) == "Firing: nothing  (details: atctl alerts)"


def test_status_text_breaks_between_alerts_within_80_columns() -> None:
    """Two SLO burns and the pointer to ``atctl alerts`` passed 80 columns on one line."""
    rows = alert_rows(
        [prometheus_alert(n, s, "pipeline") for n, s in (("SLOBurnRateFast", "critical"), ("SLOBurnRateSlow", "warning"))], []
    )
    assert status_text(rows).splitlines() == [
        "Firing: SLOBurnRateFast (critical, pipeline),",
        "        SLOBurnRateSlow (warning, pipeline)  (details: atctl alerts)",
    ]
    many = alert_rows([prometheus_alert(f"Alert{i}", "critical", "agent-momentum") for i in range(9)], [])
    assert all(len(line) <= 80 for line in status_text(many).splitlines())
    assert status_text(many).count("(critical, agent-momentum)") == 9


def test_runbook_path_keeps_foreign_urls() -> None:
    assert runbook_path("file:///repo/docs/runbooks/RedisDown.md") == "docs/runbooks/RedisDown.md"
    assert runbook_path("https://wiki.example/oncall/redis") == "https://wiki.example/oncall/redis"


def test_silence_request_for_one_alert_and_service() -> None:
    now = datetime(2027, 1, 15, 8, 0, tzinfo=UTC)
    body = silence_request("AgentDown", 1800, "restarting", "ops", now, service="agent-risk")
    assert body["startsAt"] == "2027-01-15T08:00:00Z" and body["endsAt"] == "2027-01-15T08:30:00Z"
    assert [(m["name"], m["value"]) for m in body["matchers"]] == [("alertname", "AgentDown"), ("service", "agent-risk")]
    assert (body["createdBy"], body["comment"]) == ("ops", "restarting")


def test_only_active_silences_are_listed() -> None:
    silences = [
        {
            "id": "a",
            "matchers": [{"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}],
            "endsAt": "2027-01-15T09:00:00Z",
            "createdBy": "ops",
            "comment": "c",
            "status": {"state": "active"},
        },
        {"id": "b", "matchers": [], "endsAt": "2027-01-15T07:00:00Z", "status": {"state": "expired"}},
    ]
    rows = silence_rows(silences)
    assert [(r.id, r.matchers) for r in rows] == [("a", 'alertname="X"')]


def test_age_reads_nanosecond_timestamps() -> None:
    now = datetime(2027, 1, 15, 8, 3, 12, tzinfo=UTC)
    assert age("2027-01-15T08:00:00.123456789Z", now) == "3m11s"
    assert age("0001-01-01T00:00:00Z", now) == "-"
