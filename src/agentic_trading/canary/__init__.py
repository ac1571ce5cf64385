"""The canary: a test signal through the whole pipeline every few seconds, measured end to end.

Every process can report healthy while signals are not decided (an orchestrator that
hangs, a consumer gone, a stream full). The canary proves the path the way a user feels
it: it posts a signal to the gateway's ``/webhook/test`` (test signals go through every
agent and the orchestrator but never change the paper positions), watches
``decisions.>`` on NATS for its decision, and counts it decided or, after the deadline,
undecided. ``CanarySignalsUndecided`` (``observability/prometheus/alerts/canary.yml``)
fires on the latter.

``python -m agentic_trading.canary`` serves ``/metrics`` and ``/healthz`` on
``settings.port("canary")``; ``atctl up`` supervises it.
"""
