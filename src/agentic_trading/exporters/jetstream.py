"""What the nats-server monitoring endpoint says about JetStream, as plain figures.

Pure parsing of ``/jsz?streams=true&consumers=true`` and ``/varz`` (no I/O), so it is
tested against captured responses. The shape (nats-server 2.9)::

    {"account_details": [{"stream_detail": [
        {"name": "SIGNALS", "state": {"messages": 5, "bytes": 255, ...},
         "consumer_detail": [{"name": "agent-momentum", "num_pending": 3,
                              "num_ack_pending": 1, "num_redelivered": 1, ...}]}]}]}

A server without JetStream answers ``{"disabled": true, ...}`` without ``account_details``:
that is no streams, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentic_trading.errors import AgenticTradingError


class MonitorFormatError(AgenticTradingError, ValueError):
    """The monitoring endpoint answered JSON of an unexpected shape; the message names the field."""


@dataclass(frozen=True)
class ConsumerFigures:
    stream: str
    name: str
    pending: int  # num_pending: matching messages not yet delivered
    ack_pending: int  # num_ack_pending: delivered, not yet acknowledged
    redelivered: int  # num_redelivered: unacknowledged messages delivered more than once


@dataclass(frozen=True)
class StreamFigures:
    name: str
    messages: int
    bytes: int
    consumers: tuple[ConsumerFigures, ...]
    max_bytes: int = 0  # config.max_bytes (``&config=true``); 0 when unlimited or not reported


@dataclass(frozen=True)
class NatsSnapshot:
    streams: tuple[StreamFigures, ...]
    connections: int


def parse_jsz(doc: Any) -> tuple[StreamFigures, ...]:
    """Every stream (with its consumers) of every account in a ``/jsz`` answer."""
    _require_mapping(doc, "jsz")
    accounts = doc.get("account_details") or []
    _require_list(accounts, "account_details")
    streams: list[StreamFigures] = []
    for a, account in enumerate(accounts):
        where = f"account_details[{a}]"
        _require_mapping(account, where)
        details = account.get("stream_detail") or []
        _require_list(details, f"{where}.stream_detail")
        for s, detail in enumerate(details):
            streams.append(_parse_stream(detail, f"{where}.stream_detail[{s}]"))
    return tuple(streams)


def parse_connections(doc: Any) -> int:
    """The number of client connections in a ``/varz`` answer."""
    _require_mapping(doc, "varz")
    return _count(doc, "connections", "varz")


def parse_snapshot(jsz: Any, varz: Any) -> NatsSnapshot:
    return NatsSnapshot(streams=parse_jsz(jsz), connections=parse_connections(varz))


class RedeliveryCounter:
    """A monotonic count of redeliveries from nats-server's non-monotonic ``num_redelivered``.

    ``num_redelivered`` is the number of *currently unacknowledged* messages that were
    delivered more than once: it falls back to 0 when they are acknowledged, so it cannot
    be exported as a counter. This adds every rise between two polls, so it counts each
    message the first time it is seen redelivered (a message redelivered and acknowledged
    between two polls, or redelivered again, is not counted twice): a lower bound,
    monotonic, good for ``increase()`` and alerting on "redeliveries are happening".
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], int] = {}
        self._totals: dict[tuple[str, str], int] = {}

    def observe(self, stream: str, consumer: str, redelivered: int) -> int:
        """Record the latest ``num_redelivered`` of a consumer; returns its running total."""
        key = (stream, consumer)
        last = self._last.get(key, 0)
        total = self._totals.get(key, 0) + max(0, redelivered - last)
        self._last[key] = redelivered
        self._totals[key] = total
        return total


def _parse_stream(detail: Any, where: str) -> StreamFigures:
    _require_mapping(detail, where)
    name = _string(detail, "name", where)
    state = detail.get("state")
    _require_mapping(state, f"{where}.state")
    consumers_doc = detail.get("consumer_detail") or []
    _require_list(consumers_doc, f"{where}.consumer_detail")
    consumers = []
    for c, consumer in enumerate(consumers_doc):
        cwhere = f"{where}.consumer_detail[{c}]"
        _require_mapping(consumer, cwhere)
        consumers.append(
            ConsumerFigures(
                stream=name,
                name=_string(consumer, "name", cwhere),
                pending=_count(consumer, "num_pending", cwhere),
                ack_pending=_count(consumer, "num_ack_pending", cwhere),
                redelivered=_count(consumer, "num_redelivered", cwhere),
            )
        )
    return StreamFigures(
        name=name,
        messages=_count(state, "messages", f"{where}.state"),
        bytes=_count(state, "bytes", f"{where}.state"),
        consumers=tuple(consumers),
        max_bytes=_max_bytes(detail.get("config"), f"{where}.config"),
    )


def _max_bytes(config: Any, where: str) -> int:
    """The stream's byte limit; nats-server reports -1 for none."""
    if config is None:
        return 0
    _require_mapping(config, where)
    value = config.get("max_bytes", -1)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MonitorFormatError(f"{where}.max_bytes: expected an integer, got {value!r}")
    return max(value, 0)


def _require_mapping(value: Any, where: str) -> None:
    if not isinstance(value, Mapping):
        raise MonitorFormatError(f"{where}: expected a JSON object, got {type(value).__name__}")


def _require_list(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise MonitorFormatError(f"{where}: expected a JSON array, got {type(value).__name__}")


def _string(doc: Mapping[str, Any], key: str, where: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise MonitorFormatError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _count(doc: Mapping[str, Any], key: str, where: str) -> int:
    """A non-negative integer field; nats-server leaves some zero fields out (omitempty), so absent is 0."""
    value = doc.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MonitorFormatError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
    return value
