"""Shared options are declared once and reach every command that takes them, after its own."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from typer.testing import CliRunner

from agentic_trading.cli.shared_options import option, shared_options

runner = CliRunner()

colour_options = shared_options(
    "colour",
    [option("red", Annotated[int, typer.Option("--red")], 0), option("blue", Annotated[int, typer.Option("--blue")], 0)],
    lambda ctx, red, blue: (red, blue),
)
size_options = shared_options("size", [option("size", Annotated[str, typer.Option("--size")], "m")], lambda ctx, size: size)


def _app(seen: dict[str, Any]) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @size_options
    @colour_options
    def paint(
        ctx: typer.Context, colour: tuple[int, int], size: str, name: Annotated[str, typer.Option("--name")] = "wall"
    ) -> None:
        seen.update(colour=colour, size=size, name=name, command=ctx.command.name)

    @app.command()
    @colour_options
    def mix(colour: tuple[int, int]) -> None:
        seen.update(mixed=colour)

    return app


def test_the_command_gets_one_value_built_from_its_shared_options() -> None:
    seen: dict[str, Any] = {}
    result = runner.invoke(_app(seen), ["paint", "--blue", "3", "--size", "xl", "--name", "door"])
    assert result.exit_code == 0, result.output
    assert seen == {"colour": (0, 3), "size": "xl", "name": "door", "command": "paint"}
    mixed = runner.invoke(_app(seen), ["mix", "--red", "2"])
    assert mixed.exit_code == 0, mixed.output
    assert seen["mixed"] == (2, 0)


def test_help_lists_own_options_first_then_each_set_in_decorator_order() -> None:
    result = runner.invoke(_app({}), ["paint", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    order = re.findall(r"--(name|red|blue|size)\b", result.output)
    assert order == ["name", "red", "blue", "size"]
