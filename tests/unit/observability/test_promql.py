"""Metric names out of PromQL, and Grafana's template variables expanded as Grafana does."""

from __future__ import annotations

import promql_parser
import pytest

from agentic_trading.observability.promql import PromQLSyntaxError, metric_names, range_windows, selectors, threshold
from agentic_trading.observability.templating import (
    builtin_variables,
    expand_variables,
    format_values,
    label_values_query,
    regex_escape,
    variable_references,
)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('sum by (le) (rate(a_bucket{x=~"b|c"}[5m]))', {"a_bucket"}),
        ("count(up == 0) or vector(1e3)", {"up"}),
        ('sum by (job) (rate(x_total[5m])) / on(job) group_left(service) y{service!="rate"}', {"x_total", "y"}),
        ('{__name__="via_name"} offset 1h', {"via_name"}),
        ("max_over_time(z[5m:30s])", {"z"}),
        ('label_replace(a, "dst", "$1", "src", "(.*)")', {"a"}),
        ("histogram_quantile(0.95, sum by (le) (rate(gateway:x:rate5m[1m])))", {"gateway:x:rate5m"}),
        ('ALERTS{alertstate="firing", alertname!="Watchdog"}', {"ALERTS"}),
        ("time() - max(timestamp(up))", {"up"}),
        ("sum without (instance) (rate(bool_total[5m])) > bool 0", {"bool_total"}),
        ("vector(1)", set()),
    ],
)
def test_metric_names_skip_functions_keywords_labels_strings_and_durations(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names


@pytest.mark.parametrize("expr", ["sum(rate(x[5m])", "rate(x[$__rate_interval])", "up{job=}", "x +"])
def test_invalid_promql_raises_with_the_parser_reason_and_the_query(expr: str) -> None:
    with pytest.raises(PromQLSyntaxError) as raised:
        metric_names(expr)
    assert raised.value.query == expr.strip()
    assert raised.value.reason


def test_every_grafana_variable_syntax_is_found_once_in_order() -> None:
    expr = 'a{x=~"$one", y=~"${two}", z=~"${three:regex}", w=~"[[four]]", v=~"$one"} [$__rate_interval]'
    assert variable_references(expr) == ["one", "two", "three", "four", "__rate_interval"]


def test_expansion_replaces_known_variables_in_every_syntax_and_leaves_the_rest() -> None:
    expr = 'a{x=~"$agent_type", y=~"${agent_type}", z=~"[[agent_type]]", w=~"${agent_type:regex}"} + $other'
    expanded = expand_variables(expr, {"agent_type": "(momentum|risk)"})
    assert expanded == 'a{x=~"(momentum|risk)", y=~"(momentum|risk)", z=~"(momentum|risk)", w=~"(momentum|risk)"} + $other'


def test_label_replace_references_are_not_taken_for_variables() -> None:
    expr = 'label_replace(up, "a", "$1", "b", "(.*)")'
    assert expand_variables(expr, {"agent_type": "x"}) == expr


def test_all_values_become_an_alternation_that_matches_each_value_literally() -> None:
    values = ["momentum", "risk", "a.b", "c|d"]
    text = format_values(values)
    assert text == "(momentum|risk|a\\\\.b|c\\\\|d)"
    # Through the real parser: the string literal holds the regex a\.b, matching only "a.b".
    parsed = promql_parser.parse(f'up{{agent_type=~"{text}"}}')
    assert parsed.matchers.matchers[0].value == r"(momentum|risk|a\.b|c\|d)"


def test_one_value_is_written_without_parentheses() -> None:
    assert format_values(["risk"]) == "risk"
    assert regex_escape("1.5") == "1\\\\.5"


def test_builtin_intervals_follow_grafanas_rate_interval_rule() -> None:
    fast = builtin_variables(1.0)
    assert fast["__rate_interval"] == "4s" and fast["__interval"] == "1s"
    production = builtin_variables(15.0)
    assert production["__rate_interval"] == "1m" and production["__range"] == "1h" and production["__range_s"] == "3600"
    expanded = expand_variables("rate(x[$__rate_interval])", production)
    assert metric_names(expanded) == {"x"}


@pytest.mark.parametrize(
    ("query", "parsed"),
    [
        ("label_values(agent_messages_processed_total, agent_type)", ("agent_messages_processed_total", "agent_type")),
        ('label_values(up{job="agents", a=~"x,y"}, service)', ('up{job="agents", a=~"x,y"}', "service")),
        ("label_values(job)", (None, "job")),
        ("query_result(up)", None),
        ("metrics(gateway_.*)", None),
    ],
)
def test_label_values_queries_are_understood(query: str, parsed: tuple[str | None, str] | None) -> None:
    assert label_values_query(query) == parsed


@pytest.mark.parametrize(
    ("expr", "found"),
    [
        ("x > 0.5", ">  0.5"),
        ("(up == 0)", "== 0"),
        ("(a == 0) and on () (b > 0)", "== 0"),
        ("redis_up == 0 or up == 0", "== 0"),
        ("a == 0 or b > 1", None),
        ("vector(1)", None),
        ("a > b", None),
    ],
)
def test_the_threshold_of_an_alert_is_its_top_comparison(expr: str, found: str | None) -> None:
    result = threshold(expr)
    assert (str(result) if result else None) == (" ".join(found.split()) if found else None)


def test_selectors_carry_the_labels_their_matchers_test() -> None:
    found = selectors('sum by (job) (rate(x_total{a="1", b=~"2"}[5m])) / y')
    assert [(s.metric, s.labels) for s in found] == [("x_total", ("a", "b")), ("y", ())]
    assert range_windows("rate(x[5m]) + rate(y[1h])") == (300.0, 3600.0)
