"""Alertmanager webhook bodies into notifications; anything else refused with the field that is wrong."""

import orjson
import pytest

from agentic_trading.receiver.payload import Notification, PayloadError, parse_webhook


def test_a_real_firing_webhook_becomes_one_notification(webhook_body):
    [n] = parse_webhook(webhook_body("firing"), received_at=1700000000.5)

    assert (n.alertname, n.status, n.received_at) == ("GatewayDown", "firing", 1700000000.5)
    assert n.labels == {"alertname": "GatewayDown", "job": "gateway", "severity": "critical"}
    assert n.annotations["runbook_url"] == "docs/runbooks/GatewayDown.md"
    assert n.startsAt == "2026-11-25T11:49:49Z" and n.endsAt == "0001-01-01T00:00:00Z"
    assert (n.fingerprint, n.receiver) == ("09043dd4bd5f2d11", "at")
    assert n.groupKey == '{}:{alertname="GatewayDown"}'


def test_a_real_resolved_webhook_keeps_its_start_and_says_when_it_ended(webhook_body):
    [n] = parse_webhook(webhook_body("resolved"), received_at=1.0)
    assert (n.status, n.startsAt, n.endsAt) == ("resolved", "2026-11-25T11:49:49Z", "2026-11-25T11:49:51Z")


def test_every_alert_of_a_group_is_kept_and_a_minimal_body_is_enough():
    body = {
        "alerts": [
            {"status": "firing", "labels": {"alertname": "A"}, "startsAt": "2026-01-01T00:00:00Z"},
            {"status": "resolved", "labels": {"alertname": "B"}, "startsAt": "2026-01-01T00:00:00Z"},
        ]
    }
    notifications = parse_webhook(orjson.dumps(body), received_at=2.0)
    assert [(n.alertname, n.status, n.annotations, n.endsAt) for n in notifications] == [
        ("A", "firing", {}, ""),
        ("B", "resolved", {}, ""),
    ]


def _alert(**changes):
    alert = {"status": "firing", "labels": {"alertname": "X", "severity": "page"}, "startsAt": "2026-01-01T00:00:00Z"}
    alert.update(changes)
    return {"version": "4", "alerts": [alert]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[]", "body"),
        (orjson.dumps({"version": "3", "alerts": []}), "version"),
        (orjson.dumps({"version": "4"}), "alerts"),
        (orjson.dumps({"alerts": ["GatewayDown"]}), "alerts[0]"),
        (orjson.dumps(_alert(labels=None)), "alerts[0].labels"),
        (orjson.dumps(_alert(labels={"severity": "page"})), "alerts[0].labels.alertname"),
        (orjson.dumps(_alert(labels={"alertname": "X", "severity": 3})), "alerts[0].labels.severity"),
        (orjson.dumps(_alert(status="pending")), "alerts[0].status"),
        (orjson.dumps(_alert(startsAt=None)), "alerts[0].startsAt"),
        (orjson.dumps(_alert(annotations=["summary"])), "alerts[0].annotations"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_body_that_is_not_a_webhook_names_the_wrong_field(body, field):
    with pytest.raises(PayloadError) as caught:
        parse_webhook(body, received_at=0.0)
    assert caught.value.field == field


def test_a_stored_record_reads_back_as_the_same_notification(webhook_body):
    [n] = parse_webhook(webhook_body("firing"), received_at=3.25)
    assert Notification.from_json(orjson.loads(orjson.dumps(n.to_json()))) == n
    with pytest.raises(PayloadError, match="received_at"):
        Notification.from_json({**n.to_json(), "received_at": "yesterday"})
