"""``python -m agentic_trading.canary``: the supervised end-to-end probe (see the package docstring)."""

from agentic_trading.canary.service import main

main()
