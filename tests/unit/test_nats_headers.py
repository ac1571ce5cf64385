"""nats_headers.parse_header_lines returns exactly what nats-py's own header parser returns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from nats.aio.client import Client

from agentic_trading.nats_headers import parse_header_lines

_NATS_PARSER = Client._parse_header_lines

_pieces = st.sampled_from(
    [b"Nats-Msg-Id", b"X-Correlation-ID", b":", b" ", b"\t", b"\r\n", b"\x1c", b"\xc3\xa9", b"\xff", b"a b", b"\x01", b""]
)
_blocks = st.lists(st.one_of(_pieces, st.binary(max_size=12)), max_size=12).map(b"".join)


def test_the_headers_of_a_jetstream_message() -> None:
    raw = b"Nats-Msg-Id: sig_1:momentum\r\nX-Correlation-ID: corr-1\r\n\r\n"
    assert parse_header_lines(raw) == _NATS_PARSER(raw) == {"Nats-Msg-Id": "sig_1:momentum", "X-Correlation-ID": "corr-1"}


@given(_blocks)
def test_any_header_block_parses_as_nats_py_parses_it(raw: bytes) -> None:
    assert parse_header_lines(raw) == _NATS_PARSER(raw)
