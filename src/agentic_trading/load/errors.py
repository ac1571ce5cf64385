"""What stops a load run, each saying what to do; all under :class:`LoadError`.

A crossed threshold is not an error: it is a result (exit 1 from ``atctl load``).
These are the cases where no run, or no report, can be made. The CLI prints one red
line and exits with ``exit_code``: 2 for bad input or a target that does not answer.
"""

from __future__ import annotations

from agentic_trading.errors import AgenticTradingError, EndpointUnreachableError


class LoadError(AgenticTradingError):
    """A load run that could not be carried out; the message says what to do."""

    exit_code = 1


class LoadModelError(LoadError, ValueError):
    """A load model that cannot be run; the message says which option to change."""

    exit_code = 2


class ThresholdError(LoadError, ValueError):
    """A threshold expression that cannot be parsed; the message shows a correct one."""

    exit_code = 2


class TargetUnreachableError(LoadError, EndpointUnreachableError):
    """Nothing answers at the target URL, before the run or for every request of it."""

    exit_code = 2  # not LoadError's 1, which comes first in the MRO
    service = "gateway"


class LoadInterruptedError(LoadError):
    """The run was cut short (Ctrl-C): no report, the shell's code for SIGINT."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("interrupted: no report for a run cut short")
