"""``atctl``: the command line over :mod:`agentic_trading.stack` (one module per command group)."""
