"""Validation names every bad field; ids are stable for retries."""

import os

import pytest

from agentic_trading.signals import (
    REASON_INCONSISTENT,
    REASON_INVALID_TYPE,
    REASON_MISSING_FIELD,
    REASON_NOT_AN_OBJECT,
    Signal,
    SignalValidationError,
    build_signal,
    derive_signal_id,
    fresh_id,
    instrument_subject_token,
)

SPEC_SIGNAL = {
    "timestamp": "2024-01-15T10:30:00Z",
    "instrument": "EURUSD",
    "action": "buy",
    "confidence": 0.85,
    "price": 1.0850,
    "stop_loss": 1.0800,
    "take_profit": 1.0950,
}


def _errors(payload):
    with pytest.raises(SignalValidationError) as info:
        build_signal(payload, correlation_id="c", received_at=0.0)
    return {e.field: e.reason for e in info.value.errors}


def test_the_specification_signal_is_accepted_and_normalised():
    signal = build_signal({**SPEC_SIGNAL, "instrument": " eurusd ", "action": "BUY"}, correlation_id="c1", received_at=5.0)
    assert signal.instrument == "EURUSD"
    assert signal.action == "buy"
    assert signal.timestamp == "2024-01-15T10:30:00Z"
    assert signal.correlation_id == "c1"
    assert Signal.from_json(signal.to_json()) == signal


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, {"instrument": REASON_MISSING_FIELD, "action": REASON_MISSING_FIELD}),
        ({"invalid": "structure"}, {"instrument": REASON_MISSING_FIELD, "action": REASON_MISSING_FIELD}),
        ({"instrument": None}, {"instrument": REASON_MISSING_FIELD, "action": REASON_MISSING_FIELD}),
        (
            {"confidence": "not_a_number"},
            {"instrument": REASON_MISSING_FIELD, "action": REASON_MISSING_FIELD, "confidence": REASON_INVALID_TYPE},
        ),
        ([1, 2], {"body": REASON_NOT_AN_OBJECT}),
    ],
)
def test_the_specification_malformed_payloads_name_every_field(payload, expected):
    assert _errors(payload) == expected


def test_levels_must_sit_on_the_right_side_of_the_price():
    assert _errors({**SPEC_SIGNAL, "stop_loss": 1.09}) == {"stop_loss": REASON_INCONSISTENT}
    assert _errors({**SPEC_SIGNAL, "action": "sell"}) == {
        "stop_loss": REASON_INCONSISTENT,
        "take_profit": REASON_INCONSISTENT,
    }
    sell = build_signal(
        {**SPEC_SIGNAL, "action": "sell", "stop_loss": 1.09, "take_profit": 1.07}, correlation_id="c", received_at=0
    )
    assert sell.direction == -1


def test_booleans_are_not_numbers_and_confidence_is_bounded():
    assert _errors({**SPEC_SIGNAL, "confidence": True}) == {"confidence": REASON_INVALID_TYPE}
    assert "confidence" in _errors({**SPEC_SIGNAL, "confidence": 1.5})


def _id(payload, *, test=False, key=None):
    return build_signal(payload, correlation_id="c", received_at=0.0, test=test, idempotency_key=key).signal_id


def test_a_retried_payload_gets_the_same_id_and_the_secret_does_not_count():
    first = _id({**SPEC_SIGNAL, "secret": "a"})
    assert first == _id({**SPEC_SIGNAL, "secret": "b"})
    assert _id(SPEC_SIGNAL, test=True) != first


@pytest.mark.parametrize(
    "variant",
    [
        {"timestamp": "2024-01-15T10:30:00+00:00"},
        {"timestamp": "2024-01-15T11:30:00+01:00"},
        {"timestamp": "2024-01-15T10:30:00.000Z"},
        {"instrument": "eurusd"},
        {"instrument": " EURUSD "},
        {"action": "BUY"},
        {"price": 1.08500, "stop_loss": 1.080, "take_profit": 1.095},
        {"confidence": 0.850},
        {"unknown_field": "ignored"},
    ],
)
def test_equivalent_alerts_are_one_signal(variant):
    """The id is derived from the validated, normalised signal, not from the bytes sent."""
    assert _id({**SPEC_SIGNAL, **variant}) == _id(SPEC_SIGNAL)


@pytest.mark.parametrize(
    "variant",
    [
        {"price": 1.0851},
        {"action": "sell", "stop_loss": 1.09, "take_profit": 1.08},
        {"strategy": "other"},
        {"timestamp": "2024-01-15T10:30:01Z"},
    ],
)
def test_a_different_signal_gets_a_different_id(variant):
    assert _id({**SPEC_SIGNAL, **variant}) != _id(SPEC_SIGNAL)


def test_an_idempotency_key_wins_and_no_timestamp_means_a_fresh_id():
    keyed = _id({"instrument": "X", "action": "buy"}, key="k1")
    assert keyed == _id({"instrument": "Y", "action": "sell"}, key="k1")
    no_ts = {"instrument": "EURUSD", "action": "buy"}
    assert derive_signal_id(no_ts, idempotency_key=None, test=False) != derive_signal_id(no_ts, idempotency_key=None, test=False)


def test_subject_tokens_are_safe_for_nats():
    assert instrument_subject_token("BINANCE:BTC.P") == "BINANCE_BTC_P"


def test_nesting_depth_counts_arrays_and_objects_not_scalars():
    from agentic_trading.signals import nests_deeper_than

    assert not nests_deeper_than({"instrument": "EURUSD", "price": 1.0}, 1)
    assert not nests_deeper_than("text", 0)
    assert nests_deeper_than({"a": [1]}, 1)
    assert not nests_deeper_than({"a": [1]}, 2)
    deep: object = 1
    for _ in range(5000):  # far beyond the recursion limit: the walk is iterative
        deep = [deep]
    assert nests_deeper_than(deep, 32)
    assert not nests_deeper_than(deep, 5000)


def test_fresh_ids_are_distinct_32_hex_characters_also_in_a_forked_child() -> None:
    ids = {fresh_id() for _ in range(10_000)}
    assert len(ids) == 10_000 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child's next ids must not be the parent's next ids
        os.write(write, ",".join(fresh_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split(","))
    parent = {fresh_id() for _ in range(100)}
    assert len(child) == 100 and not child & parent
