"""The metric catalog as verify reads it: ranges, conditional metrics, and the generated docs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from agentic_trading.observability import ObservabilityError
from agentic_trading.observability.catalog import load_catalog, parse_entry, parse_range
from agentic_trading.verify.context import Sources
from agentic_trading.verify.metric_docs import DEFAULT_DOCS_PATH, render_metric_docs

CATALOG = load_catalog(Sources.defaults().catalog)


def test_the_specifications_gauges_have_its_ranges() -> None:
    # testing-strategy.md, test_gauge_range.
    assert CATALOG.metrics["agent_confidence_score"].range == (0.0, 1.0)
    assert CATALOG.metrics["redis_memory_usage_percent"].range == (0.0, 100.0)
    assert CATALOG.metrics["container_cpu_usage_percent"].range == (0.0, 100.0)


@pytest.mark.parametrize("spec", CATALOG.of_type("counter"), ids=lambda spec: spec.name)
def test_every_counter_is_held_to_zero_or_more(spec) -> None:
    assert spec.range == (0.0, math.inf), f"{spec.name}: add `range: [0, null]` in metrics.yaml"


def test_conditional_metrics_say_when_they_appear_and_the_contract_is_never_conditional() -> None:
    conditional = {spec.name for spec in CATALOG if spec.conditional}
    assert "gateway_auth_failures_total" in conditional
    assert "orchestrator_missing_opinions_total" in conditional
    assert not {spec.name for spec in CATALOG if spec.contract} & conditional


def test_histograms_are_known_by_their_three_series() -> None:
    known = CATALOG.known_series(["gateway:webhooks:error_ratio_rate5m"])
    assert {"gateway_processing_duration_seconds_bucket", "gateway_processing_duration_seconds_count"} <= known
    assert "gateway:webhooks:error_ratio_rate5m" in known
    assert "gateway_processing_duration_seconds" not in known
    assert CATALOG.owner_of("agent_processing_duration_seconds_sum").name == "agent_processing_duration_seconds"
    assert CATALOG.metrics["gateway_processing_duration_seconds"].selector == "gateway_processing_duration_seconds_bucket"


def test_ranges_are_closed_intervals_and_nan_is_never_inside() -> None:
    spec = CATALOG.metrics["agent_confidence_score"]
    assert spec.in_range(0.0) and spec.in_range(1.0) and spec.in_range(0.5)
    assert not spec.in_range(1.0001) and not spec.in_range(-0.1) and not spec.in_range(math.nan)
    assert spec.describe_range() == "[0, 1]"
    assert CATALOG.metrics["gateway_webhooks_total"].describe_range() == "[0, ∞]"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([1], "range must be [min, max]"),
        ("0..1", "range must be [min, max]"),
        ([0, "a"], "must be numbers or null"),
        ([True, 1], "must be numbers or null"),
        ([5, 1], "min above max"),
    ],
)
def test_malformed_ranges_are_refused_with_the_fix(value, problem: str) -> None:
    with pytest.raises(ObservabilityError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_range(value, "metrics.yaml: x")


def test_unbounded_sides_are_null() -> None:
    assert parse_range([None, 10]) == (-math.inf, 10.0)
    assert parse_range([0, None]) == (0.0, math.inf)


def test_entries_without_a_known_type_or_with_an_empty_condition_are_refused() -> None:
    with pytest.raises(ObservabilityError, match="type 'summary'"):
        parse_entry("x", {"type": "summary", "labels": []})
    with pytest.raises(ObservabilityError, match="conditional must say when"):
        parse_entry("x", {"type": "counter", "labels": [], "conditional": ""})


def test_an_unquoted_comma_in_a_help_text_is_caught() -> None:
    # YAML reads `{help: Webhooks received, valid or not}` as two keys: help and "valid or not".
    with pytest.raises(ObservabilityError, match="unknown keys \\['valid or not'\\].*quote the text"):
        parse_entry("x", {"type": "counter", "labels": [], "help": "Webhooks received", "valid or not": None})


def test_a_missing_or_broken_catalog_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ObservabilityError, match="cannot read the metric catalog"):
        load_catalog(tmp_path / "nope.yaml")
    broken = tmp_path / "metrics.yaml"
    broken.write_text("metrics: [a, b]\n")
    with pytest.raises(ObservabilityError, match="top-level `metrics:` mapping"):
        load_catalog(broken)


def test_docs_metrics_md_is_generated_from_the_catalog() -> None:
    expected = render_metric_docs(CATALOG)
    assert DEFAULT_DOCS_PATH.is_file(), "run `atctl verify --write-metric-docs`"
    assert DEFAULT_DOCS_PATH.read_text() == expected, "docs/metrics.md is stale: run `atctl verify --write-metric-docs`"


def test_metric_docs_list_every_metric_with_its_range() -> None:
    text = render_metric_docs(CATALOG)
    for spec in CATALOG:
        assert f"`{spec.name}`" in text
    assert "| `agent_confidence_score` ★ | gauge | `agent_type` | [0, 1] |" in text
    assert "*Only after the first decision taken without every agent.*" in text
