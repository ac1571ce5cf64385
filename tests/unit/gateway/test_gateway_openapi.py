"""The OpenAPI document describes the gateway as configured, so fuzzers can hold it to it."""

import schemathesis

from agentic_trading.gateway.openapi import openapi_document
from agentic_trading.settings import Settings


def _webhook(document):
    return document["paths"]["/webhook/tradingview"]["post"]


def test_the_document_is_a_valid_openapi_schema_with_every_route():
    document = openapi_document(Settings(webhook_secret="s" * 20, allowed_sources="52.89.214.238"))
    schema = schemathesis.openapi.from_dict(document)  # raises on an invalid document
    operations = {op.ok().label for op in schema.get_all_operations()}
    assert operations == {
        "POST /webhook/tradingview",
        "POST /webhook/test",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
    }


def test_auth_source_and_rate_answers_appear_only_when_configured():
    plain = _webhook(openapi_document(Settings(rate_limit_per_s=0)))
    assert set(plain["responses"]) == {"200", "400", "408", "413", "415", "422", "431", "500", "503"}
    assert "secret" not in openapi_document(Settings())["components"]["schemas"]["Signal"]["properties"]
    assert "X-Signature" not in {p["name"] for p in plain["parameters"]}

    secured_document = openapi_document(Settings(webhook_secret="s" * 20, allowed_sources="52.89.214.238"))
    secured = _webhook(secured_document)
    assert {"401", "403", "429"} <= set(secured["responses"])
    assert "X-Signature" in {p["name"] for p in secured["parameters"]}
    assert secured_document["components"]["schemas"]["Signal"]["properties"]["secret"]["writeOnly"] is True


def test_retry_after_is_documented_where_it_is_sent():
    responses = _webhook(openapi_document(Settings()))["responses"]
    assert "Retry-After" in responses["503"]["headers"] and "Retry-After" in responses["429"]["headers"]
