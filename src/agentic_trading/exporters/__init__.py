"""Exporters: figures of programs we do not write, as Prometheus metrics.

* :mod:`.nats` (``python -m agentic_trading.exporters.nats``): JetStream streams and
  consumers from the nats-server monitoring endpoint.
* :mod:`.processes` (``python -m agentic_trading.exporters.processes``): CPU, memory,
  up and restarts of every program supervisord runs.

Each polls its source once a second in the service's event loop and serves the latest
snapshot from a custom collector; a snapshot older than a few polls is not served.
"""
