"""The static checks of a verify category: the observability lint, reported as one check.

``atctl verify`` runs against deployments, but what a deployment should be is read from
files; their invariants are :mod:`agentic_trading.observability.lint`'s, run here on the
files verify was pointed at, so a finding reads the same as in ``atctl lint``.
"""

from __future__ import annotations

from collections import Counter
from functools import partial

from agentic_trading.observability import lint_tree
from agentic_trading.verify.context import VerifyContext
from agentic_trading.verify.model import Check, Outcome, counted, summarise


def lint_check(ctx: VerifyContext, category: str, area: str) -> Check:
    """One check that passes when the ``area`` lint finds nothing."""
    return Check(
        category,
        f"lint {area}",
        f"`atctl lint --area {area}` finds nothing in the {area} of the observability tree",
        partial(lint_passes, ctx, area),
    )


def lint_passes(ctx: VerifyContext, area: str) -> Outcome:
    findings = lint_tree(ctx.tree, [area])
    reproduce = f"atctl lint --area {area}"
    if findings:
        codes = [f"{code} ×{n}" if n > 1 else code for code, n in Counter(f.code for f in findings).items()]
        lines = [finding.describe() for finding in findings]
        return Outcome.failed(f"{counted(len(findings), 'finding')}: {summarise(codes, 4)}", reproduce, lines)
    return Outcome.passed(f"no findings in the {area}", reproduce)
