"""The notification store: what was received survives a restart, torn lines included."""

import orjson

from agentic_trading.receiver.payload import parse_webhook
from agentic_trading.receiver.store import NotificationStore


def notifications(alertname, status, received_at):
    body = {"alerts": [{"status": status, "labels": {"alertname": alertname}, "startsAt": "2026-01-01T00:00:00Z"}]}
    return parse_webhook(orjson.dumps(body), received_at=received_at)


def test_what_one_run_received_the_next_run_still_has(tmp_path):
    path = tmp_path / "receiver" / "notifications.jsonl"
    first = NotificationStore(path)
    assert first.load() == 0
    first.append(notifications("GatewayDown", "firing", 10.0))
    first.append(notifications("GatewayDown", "resolved", 20.0))
    first.close()

    second = NotificationStore(path)
    assert second.load() == 2
    assert [(n.alertname, n.status, n.received_at) for n in second.query()] == [
        ("GatewayDown", "firing", 10.0),
        ("GatewayDown", "resolved", 20.0),
    ]


def test_a_line_torn_by_a_crash_is_skipped_and_the_next_record_still_reads(tmp_path):
    path = tmp_path / "notifications.jsonl"
    store = NotificationStore(path)
    store.append(notifications("A", "firing", 1.0))
    store.close()
    with path.open("ab") as f:
        f.write(b'{"received_at": 2.0, "alertname": "B", "sta')  # the crash

    restarted = NotificationStore(path)
    assert restarted.load() == 1
    restarted.append(notifications("C", "firing", 3.0))
    restarted.close()

    again = NotificationStore(path)
    assert again.load() == 2
    assert [n.alertname for n in again.query()] == ["A", "C"]


def test_queries_filter_by_alertname_status_and_time(tmp_path):
    store = NotificationStore(tmp_path / "n.jsonl")
    for alertname, status, at in [("A", "firing", 1.0), ("B", "firing", 2.0), ("A", "resolved", 3.0)]:
        store.append(notifications(alertname, status, at))

    assert [n.received_at for n in store.query(alertname="A")] == [1.0, 3.0]
    assert [n.received_at for n in store.query(status="firing")] == [1.0, 2.0]
    assert [n.received_at for n in store.query(since=2.0)] == [2.0, 3.0]
    assert [n.received_at for n in store.query(alertname="A", status="firing", since=1.5)] == []
    store.close()
