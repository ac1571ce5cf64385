"""`atctl up` waits for Prometheus's first successful scrape of every running program."""

from __future__ import annotations

from agentic_trading.stack.scrapes import pending_targets, wait_until_scraped


def _target(port: int, health: str, job: str = "agents", error: str = "") -> dict[str, object]:
    return {"scrapeUrl": f"http://127.0.0.1:{port}/metrics", "health": health, "labels": {"job": job}, "lastError": error}


def _body(*targets: dict[str, object]) -> dict[str, object]:
    return {"status": "success", "data": {"activeTargets": list(targets)}}


def test_a_target_not_scraped_yet_is_pending_and_named():
    body = _body(_target(8101, "up"), _target(8001, "unknown", job="gateway"))
    assert pending_targets(body, [8101, 8001, 4222]) == ["gateway http://127.0.0.1:8001/metrics (unknown)"]


def test_targets_of_programs_not_running_are_not_waited_for():
    body = _body(_target(8101, "up"), _target(8201, "down", job="orchestrator", error="connection refused"))
    assert pending_targets(body, [8101]) == []
    assert pending_targets(body, [8101, 8201]) == ["orchestrator http://127.0.0.1:8201/metrics (connection refused)"]


def test_before_the_config_is_loaded_nothing_counts_as_scraped():
    assert pending_targets(_body(), [8101]) == ["no scrape targets loaded yet"]


def test_waiting_gives_up_at_the_deadline_with_what_is_pending():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pending = wait_until_scraped("http://127.0.0.1:1", [8101], deadline=1.0, clock=lambda: now[0], sleep=sleep)
    assert pending == ["Prometheus does not answer /api/v1/targets"] and now[0] >= 1.0
