"""Property-based tests of the gateway's input handling (Hypothesis), without a stack.

The profile keeps them reproducible and tidy in CI: no example database written into the
work tree, no per-example deadline on a shared 2-core machine. Hypothesis prints the
seed and the failing example when a property breaks.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "agentic-trading",
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.load_profile("agentic-trading")
