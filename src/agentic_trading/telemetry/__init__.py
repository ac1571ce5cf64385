"""Metrics (every metric object, defined in metrics.py) and structured JSON logs (logging.py)."""
