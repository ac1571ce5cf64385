"""The Alertmanager webhook receiver: keeps every notification it gets, so tests can assert on them.

``python -m agentic_trading.receiver`` serves on ``settings.port("receiver")``:
``POST /alerts`` (Alertmanager webhook, version 4), ``GET /notifications``
(``?alertname=&status=&since=``), ``GET /watchdog`` (is the dead man's switch still
arriving? see ``watchdog.py``), ``/healthz``, ``/metrics``. Notifications are appended
to ``<state_dir>/receiver/notifications.jsonl`` and read back on start.
"""
