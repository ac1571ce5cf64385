"""Reading nats-server's /jsz and /varz answers (captured from a real server) into figures."""

import copy

import pytest

from agentic_trading.exporters.jetstream import (
    MonitorFormatError,
    RedeliveryCounter,
    parse_connections,
    parse_jsz,
    parse_snapshot,
)


def test_streams_and_consumers_come_out_with_their_figures(load_fixture):
    streams = {s.name: s for s in parse_jsz(load_fixture("jsz_streams_consumers.json"))}

    assert set(streams) == {"SIGNALS", "OPINIONS", "DECISIONS"}
    assert (streams["SIGNALS"].messages, streams["SIGNALS"].bytes) == (5, 255)
    assert (streams["OPINIONS"].messages, streams["OPINIONS"].consumers) == (1, ())
    consumers = {c.name: c for c in streams["SIGNALS"].consumers}
    momentum = consumers["agent-momentum"]
    assert (momentum.stream, momentum.pending, momentum.ack_pending, momentum.redelivered) == ("SIGNALS", 3, 1, 1)
    risk = consumers["agent-risk"]
    assert (risk.pending, risk.ack_pending, risk.redelivered) == (5, 0, 0)


def test_a_server_without_jetstream_has_no_streams_rather_than_an_error(load_fixture):
    assert parse_jsz(load_fixture("jsz_disabled.json")) == ()


def test_connections_come_from_varz(load_fixture):
    assert parse_connections(load_fixture("varz.json")) == 2
    snapshot = parse_snapshot(load_fixture("jsz_streams_consumers.json"), load_fixture("varz.json"))
    assert snapshot.connections == 2 and len(snapshot.streams) == 3


def test_an_unexpected_shape_names_the_field(load_fixture):
    doc = copy.deepcopy(load_fixture("jsz_streams_consumers.json"))
    doc["account_details"][0]["stream_detail"][0]["consumer_detail"][1]["num_pending"] = "five"

    with pytest.raises(MonitorFormatError) as caught:
        parse_jsz(doc)

    assert "account_details[0].stream_detail[0].consumer_detail[1].num_pending" in str(caught.value)


@pytest.mark.parametrize("doc", [[], "text", {"account_details": {"a": 1}}])
def test_answers_that_are_not_jsz_are_refused(doc):
    with pytest.raises(MonitorFormatError):
        parse_jsz(doc)


def test_varz_without_a_connection_count_reads_as_zero_but_a_wrong_type_is_refused():
    assert parse_connections({"server_id": "x"}) == 0
    with pytest.raises(MonitorFormatError, match="varz.connections"):
        parse_connections({"connections": -1})


def test_redeliveries_are_counted_monotonically_although_nats_reports_a_falling_figure():
    counter = RedeliveryCounter()
    # num_redelivered as seen on successive polls: 1 redelivered, acked (back to 0), then 2 more
    seen = [counter.observe("SIGNALS", "agent-risk", n) for n in (0, 1, 1, 0, 2)]
    assert seen == [0, 1, 1, 1, 3]
    assert counter.observe("SIGNALS", "agent-momentum", 4) == 4  # each consumer counts on its own
