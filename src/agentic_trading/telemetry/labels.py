"""Bounded label values of the gateway's metrics that the gateway's modules also act on.

They live here, below the services, because :mod:`agentic_trading.telemetry.metrics` creates
every labelled child up front (a series reads 0 before its first event, never absent) and
telemetry must not import the services that use it: ``gateway.auth`` names the reason it
counts a refusal under, ``gateway.due`` the outcome it counts a signal under, both from here.
The validation reasons stay with the signal contract (``agentic_trading.signals``).
"""

from __future__ import annotations

# gateway_auth_failures_total{reason}
REASON_MISSING = "missing"
REASON_WRONG = "wrong"
REASON_BAD_SIGNATURE = "bad_signature"
REASON_SOURCE_NOT_ALLOWED = "source_not_allowed"
AUTH_FAILURE_REASONS = (REASON_MISSING, REASON_WRONG, REASON_BAD_SIGNATURE, REASON_SOURCE_NOT_ALLOWED)

# gateway_signals_due_total{outcome} (what each means: gateway/due.py)
ON_TIME = "on_time"
LATE = "late"
UNVERIFIED = "unverified"
SIGNAL_DUE_OUTCOMES = (ON_TIME, LATE, UNVERIFIED)
