"""What integration tests use to talk to the live test stack: HTTP, Prometheus, JetStream, polling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson

from _support import eventually
from agentic_trading.credentials import ADMIN, nats_credentials, redis_url
from agentic_trading.settings import Settings
from agentic_trading.stack import Stack, select_programs
from agentic_trading.stack.ports import find_free_port_offset

T = TypeVar("T")

SPEC_SIGNAL = {
    "timestamp": "2024-01-15T10:30:00Z",
    "instrument": "EURUSD",
    "action": "buy",
    "confidence": 0.85,
    "price": 1.0850,
    "stop_loss": 1.0800,
    "take_profit": 1.0950,
}


@dataclass
class LiveStack:
    """The test stack: its settings, its supervisor and clients for its endpoints."""

    stack: Stack
    settings: Settings
    http: httpx.Client

    def url(self, component: str) -> str:
        return self.settings.url(component)

    def post_signal(self, payload: Any, *, path: str = "/webhook/tradingview", **kwargs: Any) -> httpx.Response:
        return self.http.post(self.url("gateway") + path, json=payload, **kwargs)

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = self.http.get(self.url("prometheus") + "/api/v1/query", params={"query": promql})
        body = response.json()
        assert body["status"] == "success", f"{promql}: {body}"
        return body["data"]["result"]

    def query_value(self, promql: str) -> float | None:
        result = self.query(promql)
        return float(result[0]["value"][1]) if result else None

    def metric_sample(self, component: str, name: str, **labels: str) -> float:
        """A sample scraped directly from a service's /metrics (no Prometheus delay)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = self.http.get(self.url(component) + "/metrics").text
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    @property
    def redis_admin_url(self) -> str:
        """The stack's Redis URL with the admin user's credentials (anonymous access is refused)."""
        return redis_url(self.settings, ADMIN)

    def jsz(self) -> dict[str, Any]:
        return self.http.get(self.url("nats-monitor") + "/jsz", params={"streams": "true", "consumers": "true"}).json()

    def stream_messages(self, stream: str) -> int:
        for account in self.jsz().get("account_details", []):
            for detail in account.get("stream_detail", []):
                if detail["name"] == stream:
                    return int(detail["state"]["messages"])
        return 0

    def stream_last_seq(self, stream: str) -> int:
        for account in self.jsz().get("account_details", []):
            for detail in account.get("stream_detail", []):
                if detail["name"] == stream:
                    return int(detail["state"]["last_seq"])
        return 0

    def stream_payloads(self, stream: str, subjects: str, after_seq: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Every message of ``stream`` after ``after_seq`` (JSON-decoded), read with an ordered consumer."""
        return asyncio.run(self._read_stream(stream, subjects, after_seq, timeout_s))

    def signal_mark(self) -> tuple[int, float]:
        """Where SIGNALS and the supervised canary's count of stored signals stand now."""
        return self.stream_last_seq("SIGNALS"), self.metric_sample("canary", "canary_signals_sent_total")

    def signals_stored_since(self, mark: tuple[int, float], expected: int) -> None:
        """Exactly ``expected`` signals stored since ``mark``, the canary's own left out.

        The canary posts a test signal every 2 s through the same gateway (SIGNALS keeps no
        message once every consumer has it, so they cannot be told apart afterwards): a bare
        sequence delta counts its signals too. Its counter moves a moment after the store, so
        a read between the two sees one more for a few milliseconds: polled, a true extra
        signal stays and fails.
        """
        seq, canary = mark

        def stored() -> int:
            canary_now = self.metric_sample("canary", "canary_signals_sent_total")
            return self.stream_last_seq("SIGNALS") - seq - int(canary_now - canary)

        eventually(lambda: stored() == expected, timeout_s=3, interval_s=0.1, what=f"{expected} signals stored")

    async def _read_stream(self, stream: str, subjects: str, after_seq: int, timeout_s: float) -> list[dict[str, Any]]:
        import nats
        from nats.js.api import ConsumerConfig, DeliverPolicy

        last = self.stream_last_seq(stream)
        payloads: list[dict[str, Any]] = []
        if last <= after_seq:
            return payloads
        nc = await nats.connect(self.settings.nats_url, connect_timeout=2, **nats_credentials(self.settings, ADMIN))
        try:
            js = nc.jetstream()
            sub = await js.subscribe(
                subjects,
                stream=stream,
                ordered_consumer=True,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after_seq + 1),
            )
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                msg = await sub.next_msg(timeout=max(0.05, deadline - time.monotonic()))
                payloads.append(orjson.loads(msg.data))
                if msg.metadata.sequence.stream >= last:
                    break
            await sub.unsubscribe()
        finally:
            await nc.close()
        return payloads

    def notifications(self, **filters: Any) -> list[dict[str, Any]]:
        response = self.http.get(self.url("receiver") + "/notifications", params=filters)
        return response.json()["notifications"]


STACK_START_TIMEOUT_S = 60.0
# Programs Prometheus does not scrape themselves (exporters speak for NATS and Redis; the
# dashboards viewer has no metrics).
_NOT_SCRAPED = ("nats", "redis", "dashboards")


@contextmanager
def running_live_stack(state_dir: Path, offset: int) -> Iterator[LiveStack]:
    """A stack on ``offset``, up and scraped twice, as a :class:`LiveStack`; taken down (data kept) after."""
    # The dashboards ask for a password (user admin), as the specification's visual test expects.
    stack = Stack(Settings(state_dir=state_dir, port_offset=offset, dashboards_password="admin"))
    started = time.monotonic()
    with httpx.Client(timeout=5.0) as client:
        live = LiveStack(stack=stack, settings=stack.settings, http=client)
        try:
            # Inside the try: a stack that does not come up in time is taken down too, not left running.
            stack.up(timeout=STACK_START_TIMEOUT_S)
            # Counters that move before Prometheus's first scrape of a target are invisible to
            # rate(): tests start once every target has been scraped twice.
            eventually(
                lambda: (
                    (live.query_value("min(count_over_time(up[1m]))") or 0) >= 2
                    and len(live.query("up")) >= len(stack.programs()) - len(_NOT_SCRAPED)
                ),
                timeout_s=30,
                interval_s=0.2,
                what="two scrapes of every target",
            )
            print(f"\ntest stack up in {time.monotonic() - started:.1f} s at port offset {offset}, state {state_dir}")
            yield live
        finally:
            stack.down(purge=False)


def free_test_offset(state_dir: Path, candidates: list[int]) -> int:
    """The first offset in ``candidates`` at which every port of a whole stack is free now."""
    offset = find_free_port_offset(Settings(state_dir=state_dir), select_programs(None, demo=False), candidates=candidates)
    assert offset is not None, "no free port offset for the test stack"
    return offset
