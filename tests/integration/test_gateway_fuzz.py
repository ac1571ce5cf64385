"""Schemathesis against the live gateway: over 1,000 requests generated from its own OpenAPI document.

Positive cases follow the schema (the valid ones are really stored on JetStream and decided);
negative cases break it. Every answer goes through every check schemathesis has, what
``st run --checks all`` runs (status, headers, content type and body schema per the document,
no server error, negative data rejected, positive data accepted, allowed methods, auth), so
none may be a server error, schema-violating requests must be refused, and a
well-formed JSON signal is either stored (200) or refused naming its fields (422: levels on the
wrong side of the price, or a timestamp outside the replay window, which a schema cannot say).
The specification's malformed payloads run as fixed cases.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator

import pytest
import redis
import requests
import schemathesis
from _live import LiveStack
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, is_check_class, load_all_checks

from _support import eventually
from agentic_trading.load.payloads import MALFORMED_PAYLOADS
from agentic_trading.redis_keys import POSITIONS_KEY

pytestmark = pytest.mark.integration

# Generated cases per webhook operation and mode; the GET operations take no input (one case each).
CASES_PER_MODE = 300
MIN_CASES = 1000
# Text bodies are schema-valid whatever they hold, and only JSON text is a signal: 400 is an answer there.
CONFIG = schemathesis.Config.from_dict({"checks": {"positive_data_acceptance": {"expected-statuses": ["200", "400", "422"]}}})
load_all_checks()
# Every check schemathesis has, named explicitly (`st run --checks all`), so that no default can drop one.
ALL_CHECKS = [check for check in CHECKS.get_all() if not is_check_class(check)]


def _fuzz(
    operation: schemathesis.APIOperation, mode: GenerationMode, session: requests.Session, statuses: Counter[tuple[str, str, int]]
):
    """A Hypothesis test that sends generated cases of one operation and validates every answer."""
    webhook = operation.method.upper() == "POST"

    @settings(
        max_examples=CASES_PER_MODE if webhook else 5,
        deadline=None,
        database=None,
        derandomize=not os.environ.get("AT_FUZZ_RANDOM"),  # CI: the same cases every run
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        response = case.call(session=session, timeout=10)
        statuses[(operation.label, mode.value, response.status_code)] += 1
        case.validate_response(response, checks=ALL_CHECKS)
        if mode is GenerationMode.POSITIVE and case.media_type == "application/json":
            assert response.status_code in (200, 422), (case.body, response.text)

    return run


@pytest.fixture
def positions_restored(live: LiveStack) -> Iterator[None]:
    """The paper ledger as it was: generated buys and sells must not push later tests' instruments to the risk limit."""
    client = redis.Redis.from_url(live.redis_admin_url)
    before = client.hgetall(POSITIONS_KEY)
    try:
        yield
    finally:
        eventually(lambda: _consumers_idle(live), timeout_s=60, interval_s=0.2, what="every consumer done with the fuzz signals")
        with client.pipeline(transaction=True) as pipe:
            pipe.delete(POSITIONS_KEY)
            if before:
                pipe.hset(POSITIONS_KEY, mapping=before)
            pipe.execute()
        client.close()


def _consumers_idle(live: LiveStack) -> bool:
    for account in live.jsz().get("account_details", []):
        for stream in account.get("stream_detail", []):
            for consumer in stream.get("consumer_detail", []) or []:
                if consumer.get("num_pending", 0) or consumer.get("num_ack_pending", 0):
                    return False
    return True


@pytest.mark.usefixtures("positions_restored")
def test_every_generated_request_is_answered_per_the_openapi_document_without_server_errors(live: LiveStack):
    schema = schemathesis.openapi.from_url(live.url("gateway") + "/openapi.json", config=CONFIG)
    session = requests.Session()
    statuses: Counter[tuple[str, str, int]] = Counter()
    started = time.monotonic()
    stream_before = live.stream_last_seq("SIGNALS")

    for result in schema.get_all_operations():
        operation = result.ok()
        modes = (
            (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
            if operation.method.upper() == "POST"
            else (GenerationMode.POSITIVE,)
        )
        for mode in modes:
            _fuzz(operation, mode, session, statuses)()

    webhook = schema["/webhook/tradingview"]["POST"]
    for payload in MALFORMED_PAYLOADS:
        case = webhook.Case(body=payload, media_type="application/json")
        response = case.call_and_validate(session=session)
        assert response.status_code == 422
        assert {"instrument", "action"} <= {e["field"] for e in response.json()["errors"]}

    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    summary = ", ".join(f"{label} {mode} {status}: {n}" for (label, mode, status), n in sorted(statuses.items()))
    print(f"\n{total} generated requests in {elapsed:.1f} s: {summary}")
    assert total >= MIN_CASES, summary
    assert {"not_a_server_error", "negative_data_rejection", "response_schema_conformance"} <= {c.__name__ for c in ALL_CHECKS}
    assert not [key for key in statuses if key[2] >= 500], summary
    accepted = sum(n for (label, _, status), n in statuses.items() if status == 200 and label.startswith("POST"))
    assert accepted > 0, f"no generated signal was stored: {summary}"
    assert live.stream_last_seq("SIGNALS") >= stream_before + 1
