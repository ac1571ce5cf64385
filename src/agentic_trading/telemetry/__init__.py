"""Metrics, logs and the small HTTP surface (/healthz, /metrics) every service shares."""
