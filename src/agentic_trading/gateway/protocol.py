"""The gateway's HTTP/1.1 connection: uvicorn's httptools protocol, with header limits and a lingering close.

uvicorn's httptools protocol puts no bound on request headers: 100 MB of them were accepted
and four such connections added about 350 MB of RSS. Here the request line and headers of
one request may take at most ``AT_MAX_HEADER_BYTES`` and ``AT_MAX_HEADER_COUNT``; beyond
either the client gets ``431 Request Header Fields Too Large`` (JSON naming ``headers``) and
the connection is closed. The raw bytes of the header phase are counted as they arrive, so
what is buffered stays under the limit plus one socket read, whatever the client sends.

A refusal sent while the client is still sending (a 431, or a 413 for a body over the limit)
used to reach the client as a connection reset: closing a socket with unread input makes
the kernel send RST, which discards the answer the client had not read yet. So such a
connection *lingers*, as nginx's ``lingering_close`` does: the answer is written, our side
shuts down writing (FIN), and what the client still sends is read and thrown away until it
closes, goes quiet for :data:`LINGER_IDLE_S`, or has sent :data:`LINGER_MAX_BYTES` or
spent :data:`LINGER_MAX_S` (nginx's ``lingering_timeout`` and ``lingering_time``).

The webhook path answers through :func:`send_whole_response` (offered in the request's
``scope["extensions"]`` under :data:`WHOLE_RESPONSE`) rather than uvicorn's two ASGI ``send``
calls: those build two message dicts and check every header name and value with two regular
expressions, about a twentieth of the gateway's CPU at saturation (``docs/benchmarks.md``,
"Fifth pass"). The gateway's own headers need no such check: they are constants, and the
echoed correlation id is printable text (``requests.correlation_id_from``).
"""

from __future__ import annotations

import asyncio
import http
import uuid
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol, RequestResponseCycle

from agentic_trading.gateway.outbox import OUTBOX

if TYPE_CHECKING:
    from agentic_trading.settings import Settings

LINGER_IDLE_S = 2.0
LINGER_MAX_S = 30.0
LINGER_MAX_BYTES = 1024 * 1024 * 1024
REASON_HEADERS_TOO_LARGE = "headers_too_large"
HOLD_MAX_BYTES = 64 * 1024
# The ASGI scope extension under which a request's cycle offers :func:`send_whole_response`.
WHOLE_RESPONSE = "agentic_trading.whole_response"


class HeaderLimits(NamedTuple):
    max_bytes: int
    max_count: int


class _HeaderLimitExceeded(Exception):
    """Raised inside a parser callback to stop parsing; the parser wraps it in HttpParserCallbackError."""


def _status_431(message: str) -> bytes:
    body = orjson.dumps(
        {
            "error": REASON_HEADERS_TOO_LARGE,
            "correlation_id": uuid.uuid4().hex,
            "errors": [{"field": "headers", "message": message, "reason": REASON_HEADERS_TOO_LARGE}],
        }
    )
    status = http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _LingeringTransport:
    """The socket as uvicorn sees it: one write per response, and ``close()`` lingers while the request is still arriving.

    uvicorn writes a response's status line and headers, then its body: two ``send`` system
    calls, about a tenth of the gateway's CPU at saturation (``docs/benchmarks.md``). Once a
    response has started, its writes are held and go out together when it completes
    (``on_response_complete``), when the connection closes, or past :data:`HOLD_MAX_BYTES`
    (a streamed response). Holding starts only after the response started, so a
    ``100 Continue`` is never held; once holding, every write is held, so order is kept.
    """

    def __init__(self, transport: asyncio.Transport, protocol: BoundedHttpToolsProtocol):
        self._transport = transport
        self._protocol = protocol
        self._closing = False
        self._held: list[bytes] | None = None
        self._held_bytes = 0
        self._waiting_for_lines = False  # a finished answer held in the outbox until its log line is written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def write(self, data: bytes) -> None:
        if self._held is None:
            cycle = self._protocol.cycle
            if cycle is None or not cycle.response_started or cycle.response_complete:
                self._transport.write(data)
                return
            self._held = []  # the head of a response: wait for its body
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes > HOLD_MAX_BYTES:
            self.release()

    def release_after_lines(self) -> None:
        """A response is complete: write it now, or right after the log lines queued meanwhile (``outbox.py``)."""
        if self._held is None or self._waiting_for_lines:
            return
        if OUTBOX.pending:
            self._waiting_for_lines = True
            OUTBOX.hold(self._lines_written)
        else:
            self.release()

    def _lines_written(self) -> None:
        self._waiting_for_lines = False
        self._write_held()

    def release(self) -> None:
        """Write what is held now, with one call, but after the log lines queued meanwhile (``outbox.py``)."""
        if self._held is not None and OUTBOX.pending:
            if not self._waiting_for_lines:
                self._waiting_for_lines = True
                OUTBOX.hold(self._lines_written)
            OUTBOX.flush()  # writes the lines, then every answer held for them, this one included
        else:
            self._write_held()

    def _write_held(self) -> None:
        held = self._held
        if held is not None:
            self._held, self._held_bytes = None, 0
            self._transport.write(b"".join(held))

    def is_closing(self) -> bool:
        return self._closing or self._transport.is_closing()

    def close(self) -> None:
        if self._closing:
            return
        self.release()
        self._closing = True
        if self._protocol.request_unfinished():
            self._protocol.linger()
        else:
            self._transport.close()


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """One connection; :func:`bounded_protocol` makes the class with the configured limits."""

    limits = HeaderLimits(16 * 1024, 64)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_headers = True  # the bytes arriving belong to a request line or headers
        self._raw_header_bytes = 0  # as received, so a header still being parsed is counted too
        self._header_bytes = 0  # as parsed: URL, names and values
        self._header_count = 0
        self._message_complete = False
        self._refusal: str | None = None
        self._lingering = False
        self._discarded = 0
        self._linger_started = self._last_discard = 0.0
        self._linger_timer: asyncio.TimerHandle | None = None
        self._socket: asyncio.Transport | None = None

    # -- connection ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._socket = transport
        super().connection_made(_LingeringTransport(transport, self))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.release_after_lines()  # type: ignore[attr-defined]  # the response, head and body in one write
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            self._discarded += len(data)
            self._last_discard = self.loop.time()
            if self._discarded > LINGER_MAX_BYTES and self._socket is not None:
                self._socket.close()
            return
        if self._in_headers:
            self._raw_header_bytes += len(data)
        self._feed(data)
        if self._in_headers and not self._lingering and self._raw_header_bytes > self.limits.max_bytes:
            self._refuse_headers(f"are larger than {self.limits.max_bytes} bytes (AT_MAX_HEADER_BYTES)")

    def _feed(self, data: bytes) -> None:
        """uvicorn's ``data_received``, with a header limit answered 431 instead of a 400 and a warning."""
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse_headers(self._refusal)
            else:
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def request_unfinished(self) -> bool:
        """True while the client may still be sending this request (closing now would reset it)."""
        return self._in_headers and self._raw_header_bytes > 0 or not self._in_headers and not self._message_complete

    def linger(self) -> None:
        """Stop writing, then read and discard until the client closes or the linger time is over."""
        socket = self._socket
        assert socket is not None
        self._lingering = True
        self._linger_started = self._last_discard = self.loop.time()
        socket.resume_reading()
        if socket.can_write_eof():
            socket.write_eof()
        self._linger_timer = self.loop.call_later(LINGER_IDLE_S, self._end_linger_if_due)

    def _end_linger_if_due(self) -> None:
        now = self.loop.time()
        if now - self._last_discard >= LINGER_IDLE_S or now - self._linger_started >= LINGER_MAX_S:
            assert self._socket is not None
            self._socket.close()
        else:
            self._linger_timer = self.loop.call_later(LINGER_IDLE_S, self._end_linger_if_due)

    # -- parser callbacks ------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._message_complete = False

    def on_url(self, url: bytes) -> None:
        self._count_header_bytes(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.limits.max_count:
            self._refusal = f"are more than {self.limits.max_count} (AT_MAX_HEADER_COUNT)"
            raise _HeaderLimitExceeded
        self._count_header_bytes(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._raw_header_bytes = self._header_bytes = self._header_count = 0
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # not an upgrade: a request the app will answer
            self.scope["extensions"] = {WHOLE_RESPONSE: partial(send_whole_response, cycle)}

    def on_message_complete(self) -> None:
        self._message_complete = True
        self._in_headers = True
        super().on_message_complete()

    def _count_header_bytes(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.limits.max_bytes:
            self._refusal = f"are larger than {self.limits.max_bytes} bytes (AT_MAX_HEADER_BYTES)"
            raise _HeaderLimitExceeded

    # -- answers ---------------------------------------------------------------------
    def _refuse_headers(self, why: str) -> None:
        path = _path_of(getattr(self, "url", b""))
        self.transport.write(_status_431(f"the request line and headers {why}"))
        self.transport.close()
        app = self.app
        while not hasattr(app, "record_refused_headers") and hasattr(app, "app"):
            app = app.app  # uvicorn's wrappers (proxy headers, message logger)
        record = getattr(app, "record_refused_headers", None)
        if record is not None:
            record(path, why)


async def send_whole_response(cycle: RequestResponseCycle, status: int, headers: bytes, body: bytes) -> None:
    """Answer the request with one write: the status line, uvicorn's default headers, ``headers``, the body.

    What uvicorn's ``send`` does for a complete response with a Content-Length, without its
    checks of each header: ``headers`` are ``name: value\\r\\n`` lines the caller vouches
    for (no Content-Length, no Connection: those are added here). Not for HEAD requests, whose
    answer has no body.
    """
    if cycle.flow.write_paused and not cycle.disconnected:
        await cycle.flow.drain()
    if cycle.disconnected:
        return
    if cycle.response_started:
        raise RuntimeError("send_whole_response: the response was already started")
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    parts = [STATUS_LINE[status]]
    for name, value in cycle.default_headers:  # the Date header, refreshed by the server
        parts += (name, b": ", value, b"\r\n")
    parts += (headers, b"content-length: %d\r\n" % len(body))
    if not cycle.keep_alive:
        parts.append(b"connection: close\r\n")
    parts += (b"\r\n", body)
    cycle.transport.write(b"".join(parts))
    cycle.response_complete = True
    cycle.message_event.set()
    if not cycle.keep_alive:
        cycle.transport.close()
    cycle.on_response()


def _path_of(url: bytes) -> str | None:
    path = url.split(b"?", 1)[0]
    try:
        return path.decode("ascii")
    except UnicodeDecodeError:
        return None


class GatewayHttpProtocol(BoundedHttpToolsProtocol):
    """The gateway's protocol, named by import path so spawned workers (AT_GATEWAY_WORKERS) can load it."""


GATEWAY_PROTOCOL = f"{__name__}:GatewayHttpProtocol"


def configure_header_limits(settings: Settings) -> None:
    """Set the gateway protocol's limits in this process (the server's, and each worker's in create_app)."""
    GatewayHttpProtocol.limits = HeaderLimits(settings.max_header_bytes, settings.max_header_count)


def bounded_protocol(max_bytes: int, max_count: int) -> type[BoundedHttpToolsProtocol]:
    """The protocol class uvicorn should instantiate per connection, with these limits."""
    return type("GatewayHttpProtocol", (BoundedHttpToolsProtocol,), {"limits": HeaderLimits(max_bytes, max_count)})
