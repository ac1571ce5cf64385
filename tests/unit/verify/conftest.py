"""Fixtures of the verify unit tests: a fake deployment and a VerifyContext talking to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from _verify_fakes import GATEWAY, PROMETHEUS, FakeDeployment, FakePrometheus

from agentic_trading.verify import Endpoints, Sources, VerifyContext


@pytest.fixture
def deployment() -> FakeDeployment:
    return FakeDeployment()


@pytest.fixture
def fake_prometheus(deployment: FakeDeployment) -> FakePrometheus:
    return deployment.prometheus


@pytest.fixture
def verify_ctx(deployment: FakeDeployment) -> Iterator[VerifyContext]:
    http = httpx.Client(transport=httpx.MockTransport(deployment.handle))
    endpoints = Endpoints(prometheus=PROMETHEUS, alertmanager="http://alertmanager.test:9093", gateway=GATEWAY)
    with VerifyContext(endpoints, Sources.defaults(), http) as ctx:
        yield ctx
