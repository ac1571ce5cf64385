"""Every "X at URL is not answering" message comes from one place and reads the same."""

from __future__ import annotations

import pytest

from agentic_trading.bus import BusUnavailable
from agentic_trading.errors import EndpointUnreachableError, not_answering
from agentic_trading.load.errors import LoadError, TargetUnreachableError
from agentic_trading.verify.errors import StackUnreachableError, VerifyError


def test_the_message_names_the_service_the_url_why_and_what_to_check() -> None:
    assert not_answering("NATS", "nats://127.0.0.1:4222", "connection refused") == (
        "NATS at nats://127.0.0.1:4222 is not answering (connection refused): is the stack up? (atctl status)"
    )
    assert not_answering("Prometheus", "http://127.0.0.1:9090") == (
        "Prometheus at http://127.0.0.1:9090 is not answering: is the stack up? (atctl status)"
    )


@pytest.mark.parametrize(
    ("error", "service", "area"),
    [
        (StackUnreachableError, "Prometheus", VerifyError),
        (TargetUnreachableError, "gateway", LoadError),
        (BusUnavailable, "NATS", RuntimeError),
    ],
)
def test_each_area_names_its_service_and_stays_catchable_as_its_own(error, service, area) -> None:
    raised = error("http://10.0.0.5:1234", "timed out")
    assert isinstance(raised, EndpointUnreachableError) and isinstance(raised, area)
    assert str(raised) == not_answering(service, "http://10.0.0.5:1234", "timed out")
    assert raised.exit_code == 2 and raised.url == "http://10.0.0.5:1234"
