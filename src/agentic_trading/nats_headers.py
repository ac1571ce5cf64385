"""A faster header parser for nats-py, installed on every connection by :func:`agentic_trading.bus.connect`."""

from __future__ import annotations

import re

# A header name: anything but whitespace (as str.isspace sees ASCII) and non-ASCII bytes.
_HEADER_NAME = re.compile(rb"[^\s\x1c-\x1f\x80-\xff]*")


def parse_header_lines(raw: bytes) -> dict[str, str]:
    """nats-py's ``Client._parse_header_lines``, same result, without its per-character loop.

    Every JetStream message carries headers (``Nats-Msg-Id``, ``X-Correlation-ID``), and nats-py
    checks each header name with a Python generator over its characters: about 10 % of the
    orchestrator's CPU at 1,000 signals/s (docs/benchmarks.md). One regular expression does the
    same check (9.6 -> 1.8 µs a message here). :func:`connect` installs it on each connection;
    ``tests/unit/test_nats_headers.py`` holds it equal to nats-py's own on arbitrary input.
    """
    out: dict[str, str] = {}
    for line in raw.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip()
        if _HEADER_NAME.fullmatch(key) is None:
            continue
        out[key.decode("ascii")] = value.strip().decode("utf-8", "replace")
    return out
