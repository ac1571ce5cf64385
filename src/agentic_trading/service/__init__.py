"""What every service process of the stack shares (the gateway, agents, orchestrator, receiver, exporters).

``runtime.py`` is the life of the process: one event loop, the HTTP server beside the
work, a graceful drain on SIGTERM. ``http.py`` is its HTTP surface: framework-free ASGI
helpers (JSON answers, bounded body reads) and the ``/healthz``, ``/readyz``,
``/metrics`` app every service serves.
"""
