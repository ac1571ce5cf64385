"""The program table: names are contracts, selection and requirement errors say what to do."""

from __future__ import annotations

import pytest

from agentic_trading.stack import programs as programs_module
from agentic_trading.stack.errors import MissingRequirementError, UnknownProgramError
from agentic_trading.stack.programs import (
    PROGRAM_NAMES,
    PROGRAMS,
    check_requirements,
    get_program,
    module_is_runnable,
    select_programs,
)


def test_program_names_are_the_contract() -> None:
    assert PROGRAM_NAMES == (
        "nats",
        "redis",
        "gateway",
        "agent-momentum",
        "agent-risk",
        "agent-sentiment",
        "agent-correlation",
        "orchestrator",
        "receiver",
        "nats-exporter",
        "process-exporter",
        "redis-exporter",
        "prometheus",
        "alertmanager",
        "dashboards",
        "canary",
        "traffic",
    )


def test_watchers_start_after_the_services_and_stop_before_them() -> None:
    """A scrape of a service still starting (or already stopping) is up == 0: a false page."""
    tiers = {p.name: p.tier for p in PROGRAMS}
    services = ("gateway", "agent-risk", "orchestrator", "receiver")
    for watcher in ("prometheus", "alertmanager"):
        assert all(tiers[watcher] > tiers[service] for service in (*services, "canary")), watcher
    assert tiers["traffic"] > tiers["prometheus"]


def test_the_canary_probes_only_a_pipeline_that_is_up() -> None:
    """A canary signal sent while the orchestrator was still starting went undecided: a false page."""
    tiers = {p.name: p.tier for p in PROGRAMS}
    pipeline = ("gateway", "agent-momentum", "agent-risk", "agent-sentiment", "agent-correlation", "orchestrator")
    assert all(tiers["canary"] > tiers[service] for service in pipeline)


def test_demo_programs_only_with_demo() -> None:
    assert "traffic" not in [p.name for p in select_programs()]
    assert "traffic" in [p.name for p in select_programs(demo=True)]


def test_only_keeps_table_order() -> None:
    assert [p.name for p in select_programs(["redis", "gateway", "nats"])] == ["nats", "redis", "gateway"]


def test_unknown_program_names_the_known_ones() -> None:
    with pytest.raises(UnknownProgramError, match="known: nats, redis"):
        select_programs(["nope"])


def test_missing_module_error_suggests_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs_module, "module_is_runnable", lambda module: module != "agentic_trading.receiver")
    with pytest.raises(MissingRequirementError) as error:
        check_requirements(select_programs(["nats", "receiver"]))
    message = str(error.value)
    assert "receiver: Python module agentic_trading.receiver does not exist yet" in message
    assert "--only nats" in message


def test_demo_without_its_module_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs_module, "module_is_runnable", lambda module: module != "agentic_trading.load")
    with pytest.raises(MissingRequirementError, match="--demo needs traffic: run without --demo"):
        check_requirements(select_programs(demo=True))


def test_missing_binary_points_at_bootstrap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(programs_module, "resolve_binary", lambda name: None)
    with pytest.raises(MissingRequirementError, match="scripts/bootstrap.sh"):
        check_requirements(select_programs(["redis"]))


def test_module_is_runnable_needs_a_main_for_packages() -> None:
    assert module_is_runnable("agentic_trading.gateway")  # package with __main__
    assert not module_is_runnable("agentic_trading.telemetry")  # package without __main__
    assert not module_is_runnable("agentic_trading.does_not_exist")


def test_a_misspelt_program_name_gets_a_suggestion() -> None:
    with pytest.raises(UnknownProgramError, match="did you mean gateway\\?") as raised:
        get_program("gatway")
    assert raised.value.exit_code == 2
