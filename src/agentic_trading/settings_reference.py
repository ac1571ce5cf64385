"""docs/settings.md, generated from :class:`~agentic_trading.settings.Settings` itself.

Each setting's meaning is the comment written above its field in ``settings.py`` (read with
:mod:`tokenize`), so the reference cannot drift from the code: a unit test regenerates the
page and compares. Regenerate with ``python -m agentic_trading.settings_reference > docs/settings.md``.
"""

from __future__ import annotations

import inspect
import io
import tokenize

from agentic_trading import settings as settings_module
from agentic_trading.settings import _PORT_FIELDS, Settings

_HEADER = """# Settings reference

Generated from `src/agentic_trading/settings.py` by
`python -m agentic_trading.settings_reference > docs/settings.md`; a unit test fails when it is stale.

Every setting is read from, in order of precedence: the command's option (`--state-dir`,
`--port-offset`), the environment variable, the config file (`atctl.toml` in the working
directory, or the file named by `AT_CONFIG`; keys are the names below), then the default.
Ports are base ports: the effective port is the base plus `port_offset`.

| name | environment variable | default | meaning |
|---|---|---|---|
"""


def field_comments() -> dict[str, str]:
    """Field name -> the comment lines directly above it (a blank line or code ends a comment)."""
    source = inspect.getsource(settings_module.Settings)
    comments: dict[str, str] = {}
    pending: list[str] = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            pending.append(token.string.lstrip("#").strip())
        elif token.type == tokenize.NL and token.line.strip() == "":
            pending = []
        elif token.type == tokenize.NAME and token.start[1] == 4 and token.string in Settings.model_fields:
            if pending and token.string not in comments:
                comments[token.string] = " ".join(pending)
            pending = []
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            if token.start[1] == 4 and token.type == tokenize.OP and token.string == "@":
                pending = []
    return comments


def env_var(name: str) -> str:
    alias = Settings.model_fields[name].alias
    return alias or f"AT_{name.upper()}"


def meaning(name: str, comments: dict[str, str]) -> str:
    components = [c for c, f in _PORT_FIELDS.items() if f == name]
    if components:
        return f"Base port of {components[0]}."
    return comments.get(name, "")


def _default(name: str) -> str:
    value = Settings.model_fields[name].default
    if value is None:
        return "unset"
    return f"`{value}`"


# Variables read outside Settings (by one program only): name -> (default, meaning).
OTHER_VARIABLES: dict[str, tuple[str, str]] = {
    "AT_DEMO_SPEED": ("60", "How much faster than the specification's normal flow the demo traffic (`atctl up --demo`) runs."),
    "AT_CONFIG": ("`atctl.toml`", "The config file to read instead of `atctl.toml` in the working directory."),
    "AT_CHAOS_NEIGHBOURS": (
        "unset",
        "Set by `atctl chaos run --concurrency N` for the experiment processes it starts: the timeline file that"
        " tells each experiment which ran alongside it (docs/chaos.md). Not for users.",
    ),
    "AT_LOG_FILE": (
        "unset (stdout)",
        "Set by `atctl up` for each of our programs: the log file it writes and rotates itself, lines"
        ' written within 100 ms (docs/architecture.md, "Log files"). Not for users.',
    ),
}


def render_reference() -> str:
    comments = field_comments()
    rows = []
    for name in Settings.model_fields:
        text = meaning(name, comments).replace("|", "\\|")
        rows.append(f"| `{name}` | `{env_var(name)}` | {_default(name)} | {text} |")
    other = "\n".join(f"| `{name}` | {default} | {text} |" for name, (default, text) in OTHER_VARIABLES.items())
    return (
        _HEADER
        + "\n".join(rows)
        + "\n\n## Other environment variables\n\n| variable | default | meaning |\n|---|---|---|\n"
        + other
        + "\n"
    )


if __name__ == "__main__":
    print(render_reference(), end="")
