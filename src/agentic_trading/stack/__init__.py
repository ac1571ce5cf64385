"""Everything `atctl up` renders and supervises: the local stack under supervisord.

Public API (used by the CLI, the integration-test fixture and the chaos experiments):

- :class:`Stack` (``lifecycle.py``): ``up``/``down``/``status``/``start``/``stop``/``restart``/
  ``kill``/``pause``/``resume``/``wait_healthy``, ``Stack.attach(state_dir)`` for a running stack.
- ``programs.py``: the program table (names are contracts), ``available_programs()``.
- ``trace.py``: following one correlation id through the logs.
- ``errors.py``: :class:`StackError` and its subclasses.
"""

from agentic_trading.stack.errors import NoStackError, StackError
from agentic_trading.stack.lifecycle import ComponentStatus, Stack
from agentic_trading.stack.programs import PROGRAM_NAMES, PROGRAMS, Program, available_programs, select_programs

__all__ = [
    "PROGRAMS",
    "PROGRAM_NAMES",
    "ComponentStatus",
    "NoStackError",
    "Program",
    "Stack",
    "StackError",
    "available_programs",
    "select_programs",
]
