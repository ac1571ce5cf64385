"""The house rules of src/ that no other test holds: module size and which way imports point.

* No module over 400 lines: one concept per module (STYLE.md).
* ``verify`` runs against remote deployments, so it never imports the local-stack code
  (``agentic_trading.stack``); neither do the shared contracts and telemetry below the services.
* Dependencies point down: telemetry and the shared contracts never import a service or tool
  package (telemetry once took the gateway's label values from ``gateway.auth`` and
  ``gateway.due``; they are in ``telemetry/labels.py`` now).
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "agentic_trading"
MAX_LINES = 400
# Packages that must work without a local stack: verify (remote deployments), and what every service imports.
STACK_FREE = ("verify", "telemetry", "observability", "signals.py", "opinions.py", "redis_keys.py", "settings.py")
# The layers below the services, and the service and tool packages above them.
BELOW_SERVICES = ("telemetry", "errors.py", "signals.py", "opinions.py", "redis_keys.py", "settings.py")
ABOVE = (
    "agents", "alerts", "canary", "chaos", "cli", "dashboards", "exporters", "gateway",
    "load", "orchestrator", "receiver", "service", "stack", "verify",
)  # fmt: skip


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            if node.module == "agentic_trading":  # from agentic_trading import gateway
                names.update(f"agentic_trading.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_the_walk_finds_the_package() -> None:
    assert len(_modules()) > 100 and (SRC / "verify").is_dir()


def test_no_module_is_over_400_lines() -> None:
    sizes = {path.relative_to(SRC): len(path.read_text().splitlines()) for path in _modules()}
    over = [f"{path}: {lines} lines" for path, lines in sizes.items() if lines > MAX_LINES]
    assert not over, f"split these by concept (at most {MAX_LINES} lines a module):\n" + "\n".join(over)


def test_verify_and_the_shared_layers_never_import_the_local_stack() -> None:
    offenders = []
    for name in STACK_FREE:
        root = SRC / name
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            stack = sorted(m for m in _imports(path) if m == "agentic_trading.stack" or m.startswith("agentic_trading.stack."))
            if stack:
                offenders.append(f"{path.relative_to(SRC)} imports {', '.join(stack)}")
    assert not offenders, "these must work without the local stack:\n" + "\n".join(offenders)


def _files(name: str) -> list[Path]:
    root = SRC / name
    return [root] if root.is_file() else sorted(root.rglob("*.py"))


def test_every_package_above_the_shared_layers_is_named() -> None:
    packages = {path.name for path in SRC.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert packages - set(ABOVE) - set(BELOW_SERVICES) == {"observability"}  # rules and models, imported by both


def test_telemetry_and_the_shared_contracts_never_import_a_service() -> None:
    offenders = []
    for name in BELOW_SERVICES:
        for path in _files(name):
            up = sorted(
                m
                for m in _imports(path)
                for pkg in ABOVE
                if m == f"agentic_trading.{pkg}" or m.startswith(f"agentic_trading.{pkg}.")
            )
            if up:
                offenders.append(f"{path.relative_to(SRC)} imports {', '.join(up)}")
    assert not offenders, "dependencies point down; move what both need below the services:\n" + "\n".join(offenders)
