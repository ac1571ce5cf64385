"""Properties of signal validation for any input: it refuses with field errors or accepts consistently.

* ``validate_payload`` raises nothing but ``SignalValidationError``, whatever JSON value it gets;
* an accepted payload becomes a ``Signal`` that survives its wire form unchanged, re-validates
  to itself, never carries the secret, and has its stop and target on the right side of the price;
* the replay window never raises on any timestamp validation accepts.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from agentic_trading.gateway.replay import FreshnessWindow
from agentic_trading.load.payloads import MALFORMED_PAYLOADS
from agentic_trading.signals import (
    ACTIONS,
    VALIDATION_REASONS,
    Signal,
    SignalValidationError,
    build_signal,
    validate_payload,
)

SIGNAL_FIELDS = ("instrument", "action", "timestamp", "confidence", "price", "stop_loss", "take_profit", "strategy", "timeframe")

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

# Values near what a sender means, so that a good share of payloads is accepted.
instruments = st.one_of(
    st.sampled_from(["EURUSD", " eurusd ", "BINANCE:BTCUSDT.P", "ES1!", "X", "A" * 40, "A" * 41, "", "EUR USD", "€"]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/!-]{0,45}", fullmatch=True),
    json_scalars,
)
actions = st.one_of(st.sampled_from([*ACTIONS, "BUY", " Sell ", "short", ""]), json_scalars)
prices = st.one_of(st.floats(min_value=1e-6, max_value=1e6), st.integers(min_value=-5, max_value=10**6), json_scalars)
timestamps = st.one_of(
    st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(["2024-01-15T10:30:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "not a date", ""]),
    json_scalars,
)
near_signals = st.fixed_dictionaries(
    {"instrument": instruments, "action": actions},
    optional={
        "timestamp": timestamps,
        "confidence": st.one_of(st.floats(min_value=-0.5, max_value=1.5), json_scalars),
        "price": prices,
        "stop_loss": prices,
        "take_profit": prices,
        "strategy": st.one_of(st.text(max_size=70), json_scalars),
        "timeframe": st.one_of(st.text(max_size=70), json_scalars),
        "secret": st.text(max_size=20),
        "extra": json_values,
    },
)

# Well-typed values only: most of these are accepted, the rest refused for range or level consistency.
positive = st.floats(min_value=1e-9, max_value=1e9, allow_subnormal=False) | st.integers(min_value=1, max_value=10**9)
plausible_signals = st.fixed_dictionaries(
    {
        "instrument": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/!-]{0,39}", fullmatch=True),
        "action": st.sampled_from([*ACTIONS, "BUY", " Sell ", "Hold"]),
    },
    optional={
        "timestamp": st.datetimes(timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
        "confidence": st.floats(min_value=0, max_value=1),
        "price": positive,
        "stop_loss": positive,
        "take_profit": positive,
        "strategy": st.text(max_size=64),
        "timeframe": st.text(max_size=64),
        "secret": st.text(max_size=20),
    },
)


def _accepted(payload: Any) -> dict[str, Any] | None:
    try:
        return validate_payload(payload)
    except SignalValidationError as exc:
        assert exc.errors, "a refusal names at least one field"
        for error in exc.errors:
            assert error.field and error.message and error.reason in VALIDATION_REASONS
        return None


@settings(max_examples=1000)
@given(json_values)
@example(None)
@example([])
@example({"confidence": 10**400})
@example({"instrument": "EURUSD", "action": "buy", "timestamp": "0001-01-01T00:00:00+01:00"})
def test_validation_of_any_json_value_only_ever_raises_field_errors(payload):
    _accepted(payload)


@settings(max_examples=1000)
@given(near_signals)
def test_validation_of_near_signals_only_ever_raises_field_errors(payload):
    _accepted(payload)


def test_the_specifications_malformed_payloads_are_refused_naming_fields():
    for payload in MALFORMED_PAYLOADS:
        assert _accepted(payload) is None


def _as_received(payload: Any) -> Any:
    """The payload as the gateway would see it: JSON text parsed by orjson (None if orjson refuses it)."""
    try:
        return orjson.loads(json.dumps(payload))
    except orjson.JSONDecodeError:  # NaN, or an integer beyond float range: the gateway answers 400
        return None


@settings(max_examples=500)
@given((plausible_signals | near_signals).map(_as_received))
def test_accepted_payloads_round_trip_and_are_consistent(payload):
    if payload is None or _accepted(payload) is None:
        event("refused")
        return
    event("accepted")
    signal = build_signal(payload, correlation_id="c", received_at=1_700_000_000.0, idempotency_key=None)

    assert Signal.from_json(signal.to_json()) == signal
    assert b"secret" not in signal.to_json() or "secret" in (signal.strategy or "") + (signal.timeframe or "")
    # Normalisation is idempotent: the signal's own fields validate to themselves.
    again = validate_payload({k: getattr(signal, k) for k in SIGNAL_FIELDS if getattr(signal, k) is not None})
    assert {k: v for k, v in again.items() if v is not None} == {
        k: getattr(signal, k) for k in SIGNAL_FIELDS if k != "timestamp" and getattr(signal, k) is not None
    } | {"timestamp": signal.timestamp}
    assert signal.action in ACTIONS and signal.instrument == signal.instrument.strip().upper()
    if signal.confidence is not None:
        assert 0.0 <= signal.confidence <= 1.0
    for level in (signal.price, signal.stop_loss, signal.take_profit):
        assert level is None or (level > 0 and math.isfinite(level))
    if signal.stop_loss is not None or signal.take_profit is not None:
        assert signal.price is not None
    if signal.action == "buy":
        assert signal.stop_loss is None or signal.stop_loss < signal.price
        assert signal.take_profit is None or signal.take_profit > signal.price
    if signal.action == "sell":
        assert signal.stop_loss is None or signal.stop_loss > signal.price
        assert signal.take_profit is None or signal.take_profit < signal.price


@given(plausible_signals, st.text(min_size=1, max_size=30))
def test_the_secret_never_changes_a_signals_identity(payload, secret):
    if _accepted(payload) is None or payload.get("timestamp") is None:
        return
    public = {k: v for k, v in payload.items() if k != "secret"}
    with_secret = build_signal({**public, "secret": secret}, correlation_id="a", received_at=0.0)
    without = build_signal(public, correlation_id="b", received_at=0.0)
    assert with_secret.signal_id == without.signal_id


@given(st.datetimes(timezones=st.none() | st.timezones()), st.floats(min_value=0, max_value=4e9))
def test_the_replay_window_judges_every_accepted_timestamp_without_raising(moment, now):
    payload = {"instrument": "EURUSD", "action": "hold", "timestamp": moment.isoformat()}
    if _accepted(payload) is None:
        return
    signal = build_signal(payload, correlation_id="c", received_at=now)
    error = FreshnessWindow(90, 30).check(signal.timestamp, now)
    age = now - datetime.fromisoformat(signal.timestamp).timestamp()
    assert (error is None) == (-30 <= age <= 90)


@given(st.floats(min_value=-29, max_value=89))
def test_a_fresh_timestamp_is_always_inside_the_default_window(age_s):
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    timestamp = (now - timedelta(seconds=age_s)).isoformat().replace("+00:00", "Z")
    assert FreshnessWindow(90, 30).check(timestamp, now.timestamp()) is None
