"""Options several commands share, declared once: a decorator appends them to each command's own.

Typer reads a command's options from its signature. :func:`shared_options` makes a
decorator that shows Typer the command's own parameters followed by the shared ones, and
hands the command one value built from them (``options: GlobalOptions``, ``tree``, …)
instead of the separate parameters. Decorators stack: the outer one's options come last.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import typer

Command = Callable[..., None]
_CONTEXT = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)


def option(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    """One shared option: ``name: annotation = default``, as it would stand in a command's signature."""
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def shared_options(
    receiver: str, parameters: Sequence[inspect.Parameter], build: Callable[..., Any]
) -> Callable[[Command], Command]:
    """A decorator giving a command ``parameters`` after its own.

    The command declares ``receiver`` instead of them and gets ``build(ctx, **their
    values)``; it declares ``ctx`` only if it uses the context itself.
    """
    names = tuple(parameter.name for parameter in parameters)

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        wants = set(signature.parameters)
        own = [p for p in signature.parameters.values() if p.name not in ("ctx", receiver)]
        shown = [_CONTEXT, *own, *parameters]

        @functools.wraps(command)
        def run_with_shared_options(ctx: typer.Context, **given: Any) -> None:
            shared = {name: given.pop(name) for name in names}
            extra = {"ctx": ctx, receiver: build(ctx, **shared)}
            command(**given, **{name: value for name, value in extra.items() if name in wants})

        run_with_shared_options.__signature__ = signature.replace(parameters=shown)  # type: ignore[attr-defined]
        run_with_shared_options.__annotations__ = {p.name: p.annotation for p in shown} | {"return": None}
        return run_with_shared_options

    return decorate
