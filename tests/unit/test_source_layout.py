"""The house rules of src/ that no other test holds: module size and which way imports point.

* No module over 400 lines: one concept per module (STYLE.md).
* ``verify`` runs against remote deployments, so it never imports the local-stack code
  (``agentic_trading.stack``); neither do the shared contracts and telemetry below the services.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "agentic_trading"
MAX_LINES = 400
# Packages that must work without a local stack: verify (remote deployments), and what every service imports.
STACK_FREE = ("verify", "telemetry", "observability", "signals.py", "opinions.py", "redis_keys.py", "settings.py")


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
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
