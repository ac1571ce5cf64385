"""The trading signal: its validation, its identity and its wire form.

Pure logic, no I/O: the gateway calls :func:`validate_signal` on the parsed body and
either publishes the :class:`Signal` or answers 422 with every :class:`FieldError`.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from agentic_trading.errors import AgenticTradingError

ACTIONS = ("buy", "sell", "hold")
MAX_INSTRUMENT_LEN = 40
MAX_TEXT_LEN = 64
_INSTRUMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/!-]*$")
_SUBJECT_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Fields that never leave the gateway.
_PRIVATE_FIELDS = frozenset({"secret"})

# Bounded values of gateway_validation_errors_total{reason}.
REASON_INVALID_JSON = "invalid_json"
REASON_NOT_AN_OBJECT = "not_an_object"
REASON_MISSING_FIELD = "missing_field"
REASON_INVALID_TYPE = "invalid_type"
REASON_OUT_OF_RANGE = "out_of_range"
REASON_INCONSISTENT = "inconsistent"
REASON_BODY_TOO_LARGE = "body_too_large"
REASON_UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
# The timestamp is older than the replay window or further ahead than the clock skew allows.
REASON_TIMESTAMP_OUT_OF_WINDOW = "timestamp_out_of_window"
VALIDATION_REASONS = (
    REASON_INVALID_JSON,
    REASON_NOT_AN_OBJECT,
    REASON_MISSING_FIELD,
    REASON_INVALID_TYPE,
    REASON_OUT_OF_RANGE,
    REASON_INCONSISTENT,
    REASON_BODY_TOO_LARGE,
    REASON_TIMESTAMP_OUT_OF_WINDOW,
    REASON_UNSUPPORTED_MEDIA_TYPE,
)
# A signal is a flat object; the JSON parser accepts 1,024 levels, but nothing this deep is a signal.
MAX_NESTING_DEPTH = 32


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a webhook was refused (422 for the body, 401 for its secret), naming the field to fix."""

    field: str
    message: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "reason": self.reason}


class SignalValidationError(AgenticTradingError, ValueError):
    """A webhook refused for the reasons in ``errors`` (one per field); the gateway answers 422."""

    exit_code = 2

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


@dataclass(frozen=True, slots=True)
class Signal:
    """A validated trading signal as it travels on the bus."""

    signal_id: str
    correlation_id: str
    instrument: str
    action: str
    timestamp: str
    received_at: float
    test: bool = False
    confidence: float | None = None
    price: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    strategy: str | None = None
    timeframe: str | None = None

    @property
    def subject_token(self) -> str:
        return instrument_subject_token(self.instrument)

    @property
    def direction(self) -> int:
        """+1 for buy, -1 for sell, 0 for hold."""
        return {"buy": 1, "sell": -1}.get(self.action, 0)

    def to_json(self) -> bytes:
        return orjson.dumps(self)  # orjson serialises dataclasses natively, several times faster than asdict

    @classmethod
    def from_json(cls, data: bytes | str) -> Signal:
        return cls(**orjson.loads(data))


def instrument_subject_token(instrument: str) -> str:
    """A NATS subject token for an instrument (``BINANCE:BTC.P`` -> ``BINANCE_BTC_P``)."""
    return _SUBJECT_UNSAFE.sub("_", instrument)


def nests_deeper_than(value: Any, limit: int) -> bool:
    """True when arrays/objects in ``value`` nest more than ``limit`` levels (a scalar is depth 0).

    Iterative, so a hostile document cannot exhaust the stack; a flat signal costs one pass
    over its values.
    """
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _is_number(value: Any) -> bool:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        return False


def parse_timestamp(value: Any, errors: list[FieldError]) -> str | None:
    """``value`` as an ISO 8601 UTC string ending in Z; None (and a :class:`FieldError` added) if it is not one."""
    if not isinstance(value, str) or not value.strip():
        errors.append(FieldError("timestamp", "must be an ISO 8601 string such as 2024-01-15T10:30:00Z", REASON_INVALID_TYPE))
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        errors.append(FieldError("timestamp", f"{value!r} is not ISO 8601 (e.g. 2024-01-15T10:30:00Z)", REASON_INVALID_TYPE))
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        in_utc = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        errors.append(FieldError("timestamp", f"{value!r} is outside the years 1-9999 in UTC", REASON_OUT_OF_RANGE))
        return None
    return in_utc.isoformat().replace("+00:00", "Z")


def _optional_number(payload: dict[str, Any], name: str, errors: list[FieldError]) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if not _is_number(value):
        if isinstance(value, int) and not isinstance(value, bool):
            errors.append(FieldError(name, "is too large to be a number", REASON_OUT_OF_RANGE))
        else:
            errors.append(FieldError(name, f"must be a number, got {type(value).__name__}", REASON_INVALID_TYPE))
        return None
    return float(value)


def _optional_text(payload: dict[str, Any], name: str, errors: list[FieldError]) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT_LEN:
        errors.append(FieldError(name, f"must be a string of at most {MAX_TEXT_LEN} characters", REASON_INVALID_TYPE))
        return None
    return value


def validate_payload(payload: Any) -> dict[str, Any]:
    """Check a parsed webhook body; return the normalised fields or raise with every error."""
    if not isinstance(payload, dict):
        raise SignalValidationError(
            [FieldError("body", f"must be a JSON object, got {type(payload).__name__}", REASON_NOT_AN_OBJECT)]
        )
    errors: list[FieldError] = []
    fields: dict[str, Any] = {}

    instrument = payload.get("instrument")
    if instrument is None:
        errors.append(FieldError("instrument", 'is required (e.g. "EURUSD")', REASON_MISSING_FIELD))
    elif not isinstance(instrument, str):
        errors.append(FieldError("instrument", f"must be a string, got {type(instrument).__name__}", REASON_INVALID_TYPE))
    elif not instrument.strip() or len(instrument.strip()) > MAX_INSTRUMENT_LEN or not _INSTRUMENT_RE.match(instrument.strip()):
        errors.append(
            FieldError(
                "instrument",
                f"must be 1-{MAX_INSTRUMENT_LEN} characters of letters, digits and . _ : / ! -",
                REASON_OUT_OF_RANGE,
            )
        )
    else:
        fields["instrument"] = instrument.strip().upper()

    action = payload.get("action")
    if action is None:
        errors.append(FieldError("action", "is required: one of buy, sell, hold", REASON_MISSING_FIELD))
    elif not isinstance(action, str):
        errors.append(FieldError("action", f"must be a string, got {type(action).__name__}", REASON_INVALID_TYPE))
    elif action.strip().lower() not in ACTIONS:
        errors.append(FieldError("action", f"{action!r} is not one of buy, sell, hold", REASON_OUT_OF_RANGE))
    else:
        fields["action"] = action.strip().lower()

    if payload.get("timestamp") is not None:
        fields["timestamp"] = parse_timestamp(payload["timestamp"], errors)

    confidence = _optional_number(payload, "confidence", errors)
    if confidence is not None and not 0.0 <= confidence <= 1.0:
        errors.append(FieldError("confidence", f"must be between 0 and 1, got {confidence}", REASON_OUT_OF_RANGE))
    fields["confidence"] = confidence

    prices: dict[str, float | None] = {}
    for name in ("price", "stop_loss", "take_profit"):
        value = _optional_number(payload, name, errors)
        if value is not None and value <= 0:
            errors.append(FieldError(name, f"must be greater than 0, got {value}", REASON_OUT_OF_RANGE))
            value = None
        prices[name] = value
        fields[name] = value

    _check_levels(fields.get("action"), prices, errors)

    fields["strategy"] = _optional_text(payload, "strategy", errors)
    fields["timeframe"] = _optional_text(payload, "timeframe", errors)

    if errors:
        raise SignalValidationError(errors)
    return fields


def _check_levels(action: str | None, prices: dict[str, float | None], errors: list[FieldError]) -> None:
    """Stop and target must sit on the right side of the price for the action."""
    price, stop, target = prices["price"], prices["stop_loss"], prices["take_profit"]
    if (stop is not None or target is not None) and price is None:
        if not any(e.field == "price" for e in errors):
            errors.append(FieldError("price", "is required when stop_loss or take_profit is given", REASON_MISSING_FIELD))
        return
    if price is None or action not in ("buy", "sell"):
        return
    if action == "buy":
        if stop is not None and not stop < price:
            errors.append(FieldError("stop_loss", f"for a buy must be below price {price}, got {stop}", REASON_INCONSISTENT))
        if target is not None and not target > price:
            errors.append(FieldError("take_profit", f"for a buy must be above price {price}, got {target}", REASON_INCONSISTENT))
    else:
        if stop is not None and not stop > price:
            errors.append(FieldError("stop_loss", f"for a sell must be above price {price}, got {stop}", REASON_INCONSISTENT))
        if target is not None and not target < price:
            errors.append(FieldError("take_profit", f"for a sell must be below price {price}, got {target}", REASON_INCONSISTENT))


# The validated fields that make a signal what it is; their normalised values are its identity.
IDENTITY_FIELDS = (
    "instrument",
    "action",
    "timestamp",
    "confidence",
    "price",
    "stop_loss",
    "take_profit",
    "strategy",
    "timeframe",
)


def identity_bytes(fields: dict[str, Any]) -> bytes:
    """The normalised signal, serialised the same way whatever form it was sent in.

    ``fields`` are :func:`validate_payload`'s: instrument upper-cased, action lower-cased, the
    timestamp in UTC as ``...Z``, numbers as floats (``1.085`` == ``1.0850`` == ``1.085e0``).
    Unknown fields and the secret are not part of it. Flat and bounded, so it always serialises.
    """
    return orjson.dumps([fields.get(name) for name in IDENTITY_FIELDS])


def _new_id_source() -> None:
    global _id_prefix, _id_counter
    _id_prefix, _id_counter = os.urandom(8).hex(), itertools.count(1)


_id_prefix, _id_counter = "", itertools.count(1)
_new_id_source()
os.register_at_fork(after_in_child=_new_id_source)  # a forked child must not repeat its parent's ids


def fresh_id() -> str:
    """32 hex characters no other call returns: a random half drawn once per process, and a counter.

    The form and uniqueness of ``uuid4().hex`` (a correlation id, the id of a signal with
    neither a timestamp nor an ``Idempotency-Key``) without a ``getrandom`` system call and a
    ``UUID`` object per call: two per webhook were ~3 % of the gateway's samples at saturation.
    Nothing depends on these ids being unguessable: a sender can choose neither the id of a
    signal (derived ids are hashes) nor JetStream's deduplication key.
    """
    return f"{_id_prefix}{next(_id_counter):016x}"


def derive_signal_id(fields: dict[str, Any], *, idempotency_key: str | None, test: bool) -> str:
    """A stable id for a retried webhook, so JetStream deduplicates it and the orchestrator decides it once.

    The ``Idempotency-Key`` header wins; otherwise a signal carrying a ``timestamp`` is
    identified by its normalised, validated content (:func:`identity_bytes`), so the same alert
    sent as ``eurusd`` or ``EURUSD``, ``Z`` or ``+00:00``, ``1.085`` or ``1.0850`` is one signal.
    Only a signal with neither gets a fresh id, and a sender's retry of it cannot be recognised.
    """
    prefix = b"test|" if test else b"live|"
    if idempotency_key:
        digest = hashlib.sha256(prefix + b"key|" + idempotency_key.encode()).hexdigest()
    elif fields.get("timestamp") is not None:
        digest = hashlib.sha256(prefix + b"signal|" + identity_bytes(fields)).hexdigest()
    else:
        return "sig_" + fresh_id()
    return "sig_" + digest[:32]


def build_signal(
    payload: Any,
    *,
    correlation_id: str,
    received_at: float,
    test: bool = False,
    idempotency_key: str | None = None,
) -> Signal:
    """Validate a parsed body and turn it into a :class:`Signal` (raises :class:`SignalValidationError`)."""
    fields = validate_payload(payload)
    signal_id = derive_signal_id(fields, idempotency_key=idempotency_key, test=test)
    timestamp = fields.pop("timestamp", None) or datetime.fromtimestamp(received_at, UTC).isoformat().replace("+00:00", "Z")
    return Signal(
        signal_id=signal_id,
        correlation_id=correlation_id,
        timestamp=timestamp,
        received_at=received_at,
        test=test,
        **fields,
    )
