"""The Alertmanager webhook payload (version 4) and the notification records made from it.

Pure validation, no I/O. Alertmanager posts one group of alerts at a time::

    {"version": "4", "groupKey": "...", "receiver": "...", "status": "firing",
     "alerts": [{"status": "firing", "labels": {"alertname": "GatewayDown", ...},
                 "annotations": {...}, "startsAt": "...", "endsAt": "...",
                 "fingerprint": "...", "generatorURL": "..."}], ...}

Every alert becomes one :class:`Notification` (firing and resolved alike). A payload
that is not this shape is refused whole, with the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from agentic_trading.errors import AgenticTradingError

ALERT_STATUSES = ("firing", "resolved")
WEBHOOK_VERSION = "4"


class PayloadError(AgenticTradingError, ValueError):
    """The payload is not an Alertmanager webhook; ``field`` says where."""

    exit_code = 2

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Notification:
    """One alert of one webhook call, as received. Field names follow Alertmanager's."""

    received_at: float  # Unix time the receiver got it
    alertname: str
    status: str  # this alert's status: firing or resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str  # noqa: N815 - Alertmanager's name
    endsAt: str  # noqa: N815
    fingerprint: str
    generatorURL: str  # noqa: N815
    receiver: str
    groupKey: str  # noqa: N815

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Notification:
        """A record written by :meth:`to_json` (the JSONL file); raises PayloadError if it is not one."""
        if not isinstance(doc, Mapping):
            raise PayloadError("record", "expected a JSON object")
        received_at = doc.get("received_at")
        if isinstance(received_at, bool) or not isinstance(received_at, (int, float)):
            raise PayloadError("received_at", f"expected a Unix time, got {received_at!r}")
        return cls(
            received_at=float(received_at),
            alertname=_string(doc, "alertname", "record"),
            status=_status(doc, "record"),
            labels=_string_map(doc, "labels", "record"),
            annotations=_string_map(doc, "annotations", "record"),
            startsAt=_string(doc, "startsAt", "record"),
            endsAt=_string(doc, "endsAt", "record", required=False),
            fingerprint=_string(doc, "fingerprint", "record", required=False),
            generatorURL=_string(doc, "generatorURL", "record", required=False),
            receiver=_string(doc, "receiver", "record", required=False),
            groupKey=_string(doc, "groupKey", "record", required=False),
        )


def parse_webhook(body: bytes, received_at: float) -> list[Notification]:
    """The notifications in one webhook call; raises :class:`PayloadError` naming the wrong field."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError("body", f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise PayloadError("body", f"expected a JSON object, got {type(doc).__name__}")
    version = doc.get("version", WEBHOOK_VERSION)
    if version != WEBHOOK_VERSION:
        raise PayloadError("version", f"expected {WEBHOOK_VERSION!r} (Alertmanager webhook), got {version!r}")
    receiver = _string(doc, "receiver", "", required=False)
    group_key = _string(doc, "groupKey", "", required=False)
    alerts = doc.get("alerts")
    if not isinstance(alerts, list):
        raise PayloadError("alerts", f"expected a JSON array of alerts, got {_kind(alerts)}")
    notifications = []
    for index, alert in enumerate(alerts):
        where = f"alerts[{index}]"
        if not isinstance(alert, dict):
            raise PayloadError(where, f"expected a JSON object, got {_kind(alert)}")
        labels = _string_map(alert, "labels", where)
        if not labels.get("alertname"):
            raise PayloadError(f"{where}.labels.alertname", "missing: every alert needs an alertname label")
        notifications.append(
            Notification(
                received_at=received_at,
                alertname=labels["alertname"],
                status=_status(alert, where),
                labels=labels,
                annotations=_string_map(alert, "annotations", where, required=False),
                startsAt=_string(alert, "startsAt", where),
                endsAt=_string(alert, "endsAt", where, required=False),
                fingerprint=_string(alert, "fingerprint", where, required=False),
                generatorURL=_string(alert, "generatorURL", where, required=False),
                receiver=receiver,
                groupKey=group_key,
            )
        )
    return notifications


def _field(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _status(doc: Mapping[str, Any], where: str) -> str:
    status = doc.get("status")
    if status not in ALERT_STATUSES:
        raise PayloadError(_field(where, "status"), f"expected one of {', '.join(ALERT_STATUSES)}, got {status!r}")
    return str(status)


def _string(doc: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = doc.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise PayloadError(_field(where, key), f"expected a non-empty string, got {value!r}")
    return value


def _string_map(doc: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> dict[str, str]:
    value = doc.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(_field(where, key), f"expected a JSON object of strings, got {_kind(value)}")
    for name, item in value.items():
        if not isinstance(item, str):
            raise PayloadError(f"{_field(where, key)}.{name}", f"expected a string, got {_kind(item)}")
    return dict(value)
