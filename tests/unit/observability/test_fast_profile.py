"""The fast profile's pure helpers and the duration module: windows scaled, durations round-tripped."""

from __future__ import annotations

import pytest

from agentic_trading.observability import ObservabilityError
from agentic_trading.observability.config import load_config
from agentic_trading.observability.durations import format_age, format_duration, parse_duration
from agentic_trading.observability.fast import fast_alertmanager_document, scale_range_windows


@pytest.mark.parametrize(
    ("expr", "scaled"),
    [
        ("rate(x[5m])", "rate(x[20s])"),
        ("rate(x[15m]) / rate(y[5m])", "rate(x[1m]) / rate(y[20s])"),
        ("rate(x[1h30m])", "rate(x[6m])"),
        ("rate(x[1m])", "rate(x[4s])"),  # never under 4 scrapes
        ('rate(x{le=~"[0-9]+"}[5m])', 'rate(x{le=~"[0-9]+"}[20s])'),  # a regex is not a window
        ("up == 0", "up == 0"),
    ],
)
def test_range_windows_scale_by_the_interval_ratio(expr: str, scaled: str) -> None:
    assert scale_range_windows(expr, 1 / 15) == scaled


@pytest.mark.parametrize(("text", "seconds"), [("0s", 0), ("900ms", 0.9), ("20s", 20), ("5m", 300), ("1h30m", 5400)])
def test_durations_round_trip(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == text


def test_a_bad_duration_says_what_is_expected() -> None:
    with pytest.raises(ObservabilityError, match="not a Prometheus duration"):
        parse_duration("5 minutes")


ROUTES = {
    "route": {
        "receiver": "default",
        "group_wait": "30s",
        "routes": [
            {"receiver": "warning", "matchers": ['alertname="NATSConsumerLag"'], "group_by": ["alertname"]},
            {"receiver": "warning", "matchers": ['severity="warning"']},
        ],
    }
}


def test_a_grouped_alerts_route_keeps_its_own_timings_and_the_others_notify_at_once() -> None:
    fast = fast_alertmanager_document(ROUTES, {"NATSConsumerLag": {"group_wait": "5s", "group_interval": "30s"}})
    root = fast["route"]
    lag, warning = root["routes"]
    assert (root["group_wait"], root["group_interval"]) == ("0s", "1s")
    assert (lag["group_wait"], lag["group_interval"]) == ("5s", "30s")
    assert "group_wait" not in warning  # inherits the root's 0s


def test_a_grouping_without_its_route_is_refused_saying_what_to_add() -> None:
    with pytest.raises(ObservabilityError, match='no route of alertmanager.yml matches alertname="AgentDown" alone'):
        fast_alertmanager_document(ROUTES, {"AgentDown": {"group_wait": "5s"}})


@pytest.mark.parametrize(
    ("grouping", "message"),
    [
        ("NATSConsumerLag: {group_wait: soon}", "fast group_wait of NATSConsumerLag is 'soon'"),
        ("NATSConsumerLag: {repeat_interval: 5s}", "fast grouping of NATSConsumerLag must map group_wait and/or group_interval"),
    ],
)
def test_a_bad_fast_grouping_is_refused_naming_its_line(tmp_path, grouping: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "runbooks: {base_url: docs/runbooks/}\nseverities: [critical]\n"
        f"fast_profile:\n  hold: {{}}\n  grouping:\n    {grouping}\n"
    )
    with pytest.raises(ObservabilityError, match=f"config.yaml:6: {message}"):
        load_config(path)


@pytest.mark.parametrize(("seconds", "text"), [(-3, "0s"), (59, "59s"), (3599, "59m59s"), (86399, "23h59m"), (90000, "1d01h")])
def test_ages_show_two_units_at_most(seconds: int, text: str) -> None:
    assert format_age(seconds) == text
