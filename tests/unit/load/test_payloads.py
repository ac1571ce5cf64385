"""Generated traffic is what the gateway accepts, and the malformed set is what it refuses."""

import pytest

from agentic_trading.load.payloads import MALFORMED_PAYLOADS, SignalFactory
from agentic_trading.signals import SignalValidationError, build_signal


def test_every_generated_signal_is_valid_and_levels_follow_the_action():
    factory = SignalFactory(seed=7)
    for _ in range(500):
        payload = factory.signal()
        signal = build_signal(payload, correlation_id="c", received_at=0.0)
        if signal.action == "buy":
            assert signal.stop_loss < signal.price < signal.take_profit
        elif signal.action == "sell":
            assert signal.take_profit < signal.price < signal.stop_loss


def test_same_seed_replays_the_same_prices():
    a, b = SignalFactory(seed=3), SignalFactory(seed=3)
    assert [a.signal()["price"] for _ in range(20)] == [b.signal()["price"] for _ in range(20)]


@pytest.mark.parametrize("payload", MALFORMED_PAYLOADS)
def test_the_malformed_set_is_refused(payload):
    with pytest.raises(SignalValidationError):
        build_signal(payload, correlation_id="c", received_at=0.0)
