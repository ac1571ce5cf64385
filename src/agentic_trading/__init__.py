"""Agentic Trading: TradingView webhooks to trading decisions, observably."""

__version__ = "0.1.0"
