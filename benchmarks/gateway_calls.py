"""The gateway's Python cost per accepted webhook, without sockets: a figure the machine's load hardly moves.

On the shared 2-core machine the CPU milliseconds per request of ``gateway.py`` move by
±15 % between identical runs when other work runs beside them (load average 8-20), more than
a change to the hot path saves. This script drives the gateway's real HTTP protocol
(``gateway/protocol.py``) and application with 50 in-memory connections: each request is fed
to the protocol as the bytes ``wrk`` sends (the same distinct bodies as ``_harness.WRK_SCRIPT``),
the answer is taken from a stand-in transport, and JetStream is a stand-in that acknowledges
each publish one loop turn later (as a reply from NATS would). The log lines go to a real log
file. It prints:

* **Python function calls per request** (``cProfile``): deterministic, so an A/B of two source
  trees differs by exactly what the change removed;
* **CPU µs per request** (``time.process_time``, the minimum and median of the rounds).

Usage (the tree to measure comes first on ``PYTHONPATH``)::

    PYTHONPATH=src ../.venv/bin/python gateway_calls.py --requests 10000 --rounds 5

What it leaves out: the sockets (one read and one write per request, the NATS socket writes),
NATS's reply parsing and uvloop's own work, which ``gateway.py`` measures on a real stack.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import tempfile
import time
from typing import Any

BODY = b'{"instrument":"EURUSD","action":"buy","confidence":0.8,"strategy":"wrk-%d"}'
REQUEST = (
    b"POST /webhook/tradingview HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
)
CONNECTIONS = 50


class StandInJetStream:
    """Acknowledges each publish one loop turn later, as NATS's reply would arrive."""

    def __init__(self) -> None:
        self.seq = 0

    async def publish(self, subject: str, payload: bytes, timeout: float | None = None, headers: Any = None) -> Any:
        from nats.js.api import PubAck

        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.seq += 1
        loop.call_soon(future.set_result, PubAck(stream="SIGNALS", seq=self.seq, duplicate=False))
        return await future


class StandInNats:
    is_connected = True
    is_closed = False


class Connection:
    """One keep-alive client connection: sends the next request when the answer to the last arrived."""

    def __init__(self, bench: Bench, protocol: Any) -> None:
        self.bench = bench
        self.protocol = protocol
        self._closing = False
        protocol.connection_made(self)

    # -- the transport the protocol writes to --------------------------------------------
    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8001), "peername": ("127.0.0.1", 40000)}.get(name, default)

    def write(self, data: bytes) -> None:
        if not data.startswith(b"HTTP/1.1 200"):
            raise AssertionError(f"not accepted: {data[:300]!r}")
        self.bench.answered(self)

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def pause_reading(self) -> None:
        """Flow control: nothing to pause."""

    def resume_reading(self) -> None:
        """Flow control: nothing to resume."""

    # -- the client ----------------------------------------------------------------------
    def send_next(self) -> None:
        self.bench.sent += 1
        body = BODY % self.bench.sent
        self.protocol.data_received(REQUEST % (len(body), body))


class Bench:
    """Counts answers; ``round`` sends ``n`` requests over the connections and waits for them."""

    def __init__(self) -> None:
        self.sent = 0
        self.done = 0
        self.target = 0
        self.finished: asyncio.Future[None] | None = None

    def answered(self, connection: Connection) -> None:
        self.done += 1
        if self.done >= self.target:
            if self.finished is not None and not self.finished.done():
                self.finished.set_result(None)
            return
        asyncio.get_running_loop().call_soon(connection.send_next)

    async def round(self, connections: list[Connection], n: int) -> None:
        self.done, self.target = 0, n
        self.finished = asyncio.get_running_loop().create_future()
        for connection in connections:
            connection.send_next()
        await self.finished
        await asyncio.sleep(0.05)  # let the requests still in flight finish


async def measure(requests: int, rounds: int) -> dict[str, Any]:
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    from agentic_trading.gateway.app import Gateway
    from agentic_trading.gateway.protocol import GatewayHttpProtocol
    from agentic_trading.settings import Settings
    from agentic_trading.telemetry.logging import configure_logging

    configure_logging("gateway", "info")
    gateway = Gateway(Settings(port_offset=45000))
    gateway.nc, gateway.js = StandInNats(), StandInJetStream()  # type: ignore[assignment]
    config = Config(gateway, http=GatewayHttpProtocol, lifespan="off", loop="none", access_log=False, server_header=False)
    config.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Mon, 30 Nov 2026 20:00:00 GMT")]  # the server refreshes it each second
    loop = asyncio.get_running_loop()
    bench = Bench()
    connections = [
        Connection(bench, GatewayHttpProtocol(config=config, server_state=state, app_state={}, _loop=loop))
        for _ in range(CONNECTIONS)
    ]
    await bench.round(connections, requests)  # warm-up
    cpu_us = []
    for _ in range(rounds):
        started = time.process_time()
        await bench.round(connections, requests)
        cpu_us.append((time.process_time() - started) / requests * 1e6)
    profile = cProfile.Profile()
    counted = 2000
    profile.enable()
    await bench.round(connections, counted)
    profile.disable()
    calls = sum(entry[1] for entry in pstats.Stats(profile).stats.values())  # type: ignore[attr-defined]
    return {
        "calls_per_request": round(calls / counted, 1),
        "cpu_us_per_request_min": round(min(cpu_us), 1),
        "cpu_us_per_request_median": round(statistics.median(cpu_us), 1),
        "cpu_us_per_request_rounds": [round(x, 1) for x in cpu_us],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10000, help="requests per round (default 10000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds after a warm-up (default 5)")
    args = parser.parse_args()
    out = os.dup(1)  # the log file takes over stdout and stderr (telemetry/log_file.py)
    with tempfile.TemporaryDirectory(prefix="at-gateway-calls-") as tmp:
        os.environ["AT_LOG_FILE"] = os.path.join(tmp, "gateway.log")
        import uvloop

        result = uvloop.run(measure(args.requests, args.rounds))
    os.write(out, (" ".join(f"{k}={v}" for k, v in result.items()) + "\n").encode())


if __name__ == "__main__":
    main()
