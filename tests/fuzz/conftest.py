"""Property-based tests of the gateway's input handling (Hypothesis), without a stack.

The profile keeps them reproducible and tidy in CI (the same examples every run unless
AT_FUZZ_RANDOM=1): no example database written into the
work tree, no per-example deadline on a shared 2-core machine. Hypothesis prints the
seed and the failing example when a property breaks.
"""

import os

from hypothesis import HealthCheck, settings

# CI runs the same examples every time (a red build means a change broke something, not that
# a new random input turned up); AT_FUZZ_RANDOM=1 explores new ones.
DERANDOMIZE = not os.environ.get("AT_FUZZ_RANDOM")

settings.register_profile(
    "agentic-trading",
    database=None,
    derandomize=DERANDOMIZE,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.load_profile("agentic-trading")
