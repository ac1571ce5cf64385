"""Checks and their results: what ``atctl verify`` runs and what every report renders.

A :class:`Check` is a named question about a deployment with the function that answers
it; running it gives an :class:`Outcome` (status, what was found, the query that
reproduces it), which the runner times and turns into a :class:`Result`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

_Context = TypeVar("_Context")

CATEGORIES: tuple[str, ...] = ("collection", "accuracy", "dashboards", "alerts", "health", "security")


class Status(StrEnum):
    passed = "passed"
    failed = "failed"
    skipped = "skipped"


@dataclass(frozen=True)
class Outcome:
    """What a check found. ``query`` is the PromQL or command that shows it again."""

    status: Status
    message: str
    query: str | None = None
    details: tuple[str, ...] = ()

    @classmethod
    def passed(cls, message: str, query: str | None = None, details: Iterable[str] = ()) -> Outcome:
        return cls(Status.passed, message, query, tuple(details))

    @classmethod
    def failed(cls, message: str, query: str | None = None, details: Iterable[str] = ()) -> Outcome:
        return cls(Status.failed, message, query, tuple(details))

    @classmethod
    def failed_listing(cls, summary: str, problems: Sequence[str], query: str | None = None, shown: int = 3) -> Outcome:
        """Failed: ``summary: first, second, …`` on one line (``shown`` of them), every problem in the details."""
        return cls.failed(f"{summary}: {summarise(problems, shown)}", query, problems)

    @classmethod
    def skipped(cls, message: str, query: str | None = None, details: Iterable[str] = ()) -> Outcome:
        return cls(Status.skipped, message, query, tuple(details))


@dataclass(frozen=True)
class Check:
    """One question: ``description`` says what is checked, ``run`` answers it."""

    category: str
    name: str
    description: str
    run: Callable[[], Outcome]


def checks_on(category: str, ctx: _Context, table: Iterable[tuple[str, str, Callable[[_Context], Outcome]]]) -> list[Check]:
    """One :class:`Check` per row ``(name, description, answer)``, each answer asked of ``ctx``.

    For a category whose checks are a fixed list that needs nothing but the context.
    """
    return [Check(category, name, description, partial(answer, ctx)) for name, description, answer in table]


@dataclass(frozen=True)
class Result:
    category: str
    name: str
    description: str
    status: Status
    message: str
    duration_s: float
    query: str | None = None
    details: tuple[str, ...] = ()

    @classmethod
    def of(cls, check: Check, outcome: Outcome, duration_s: float) -> Result:
        return cls(
            category=check.category,
            name=check.name,
            description=check.description,
            status=outcome.status,
            message=outcome.message,
            duration_s=duration_s,
            query=outcome.query,
            details=outcome.details,
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape: category, name, status, message, duration_s (+ query, details when set)."""
        body: dict[str, Any] = {
            "category": self.category,
            "name": self.name,
            "status": self.status.value,
            "message": self.message,
            "duration_s": round(self.duration_s, 4),
        }
        if self.query is not None:
            body["query"] = self.query
        if self.details:
            body["details"] = list(self.details)
        return body


@dataclass
class Report:
    """Every result of one run, in the order the checks ran."""

    results: list[Result] = field(default_factory=list)
    duration_s: float = 0.0
    endpoints: dict[str, str] = field(default_factory=dict)
    title: str = "atctl verify"

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results if result.status is status)

    @property
    def passed(self) -> int:
        return self.count(Status.passed)

    @property
    def failed(self) -> int:
        return self.count(Status.failed)

    @property
    def skipped(self) -> int:
        return self.count(Status.skipped)

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def categories(self) -> list[str]:
        """The categories present, in the canonical order."""
        present = {result.category for result in self.results}
        return [c for c in CATEGORIES if c in present] + sorted(present - set(CATEGORIES))

    def in_category(self, category: str) -> list[Result]:
        return [result for result in self.results if result.category == category]

    def failures(self) -> list[Result]:
        return [result for result in self.results if result.status is Status.failed]


def summarise(items: Sequence[str], limit: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, … (12 in all)``: lists in messages stay one line."""
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown}, … ({len(items)} in all)"


def counted(n: int, noun: str) -> str:
    """``1 alert``, ``2 alerts``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
