"""atctl down ends every open alert: the copies Alertmanager is sent."""

from __future__ import annotations

from datetime import UTC, datetime

from agentic_trading.alerts.shutdown import RESOLVED_BY, expired_copies


def test_copies_end_now_keep_identity_and_say_why() -> None:
    held = [
        {
            "labels": {"alertname": "GatewayHighErrorRate", "service": "gateway", "severity": "warning"},
            "annotations": {"summary": "s"},
            "startsAt": "2027-01-15T08:00:00.000Z",
            "endsAt": "2027-01-15T08:10:00.000Z",
            "generatorURL": "http://prometheus/graph",
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
            "fingerprint": "abc",
        }
    ]
    (copy,) = expired_copies(held, datetime(2027, 1, 15, 8, 5, tzinfo=UTC))
    assert copy["labels"] == held[0]["labels"], "the same labels: the same alert, not a new one"
    assert copy["endsAt"] == "2027-01-15T08:05:00Z" and copy["startsAt"] == held[0]["startsAt"]
    assert copy["annotations"] == {"summary": "s", "resolved_by": RESOLVED_BY}
    assert "status" not in copy and "fingerprint" not in copy, "only fields Alertmanager's POST takes"
    assert held[0]["annotations"] == {"summary": "s"}, "the input is not changed"
