"""Close every open alert when the stack is shut down on purpose (``atctl down``).

Why: Prometheus and Alertmanager both keep their alert state in memory. When both stop,
nobody remembers that an alert was firing, so nobody ever sends its "resolved": after
``atctl down``/``atctl up`` the receiver's last record of it stayed ``firing`` forever,
even when the condition was long gone. A planned shutdown therefore ends every alert it
knows: Prometheus is stopped first (so nothing re-fires them), then every alert
Alertmanager holds is re-posted with ``endsAt`` = now and the annotation
``resolved_by: atctl down``, and Alertmanager, which still runs, sends the resolved
notifications on its next ``group_interval`` tick. An alert whose condition still holds
fires again, as a new notification, once the stack is back up.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from agentic_trading.alerts.sources import AlertClient, AlertSourceError, AlertSources
from agentic_trading.telemetry.logging import get_logger

log = get_logger(__name__)

RESOLVED_BY = "atctl down"
POLL_INTERVAL_S = 0.2
# atctl down waits at most this long for the receiver to get the "resolved" of every open
# alert (it returns once they are all there). A resolved notification waits for its group's
# next group_interval tick: longer than the fast profile's longest, NATSConsumerLag's 10 s
# (observability/config.yaml, fast_profile.grouping; a unit test holds them so).
SHUTDOWN_RESOLVE_TIMEOUT_S = 12.0


def expired_copies(alerts: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The alerts as Alertmanager's API takes them, ended at ``now`` (pure)."""
    ends = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    copies = []
    for alert in alerts:
        annotations = dict(alert.get("annotations") or {}, resolved_by=RESOLVED_BY)
        copy: dict[str, Any] = {"labels": dict(alert.get("labels") or {}), "annotations": annotations, "endsAt": ends}
        if alert.get("startsAt"):
            copy["startsAt"] = alert["startsAt"]
        if alert.get("generatorURL"):
            copy["generatorURL"] = alert["generatorURL"]
        copies.append(copy)
    return copies


def resolve_open_alerts(client: AlertClient, timeout_s: float) -> tuple[int, int]:
    """End every alert Alertmanager holds; wait until the receiver got their "resolved".

    Returns (alerts ended, resolved notifications seen at the receiver within ``timeout_s``).
    Only notified alerts (not silenced or inhibited) get a resolved notification.
    """
    started = time.time()
    held = client.alertmanager_alerts()
    if not held:
        return 0, 0
    client.post_alerts(expired_copies(held, datetime.now(UTC)))
    notified = {
        a["labels"].get("alertname")
        for a in held
        if not ((a.get("status") or {}).get("silencedBy") or (a.get("status") or {}).get("inhibitedBy"))
    }
    deadline = time.monotonic() + timeout_s
    seen: set[str] = set()
    while time.monotonic() < deadline:
        seen = {n["alertname"] for n in client.notifications(started) if n.get("status") == "resolved"}
        if notified <= seen:
            break
        time.sleep(POLL_INTERVAL_S)
    return len(held), len(seen & notified)


def resolve_alerts_at_shutdown(sources: AlertSources, timeout_s: float) -> None:
    """:func:`resolve_open_alerts` for ``atctl down`` once Prometheus is stopped; a failure is logged, not raised."""
    try:
        with AlertClient(sources) as client:
            ended, resolved = resolve_open_alerts(client, timeout_s)
    except AlertSourceError as error:
        log.warning("alerts_not_resolved_at_shutdown", error=str(error))
        return
    log.debug("alerts_resolved_at_shutdown", ended=ended, resolved_at_receiver=resolved)
