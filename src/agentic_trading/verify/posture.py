"""The security posture of a stack, as findings for ``atctl verify``: pure, no I/O.

:func:`security_posture` takes the settings and the address each component is bound to
(``{"gateway": "127.0.0.1", "prometheus": "0.0.0.0", ...}``) and says what is safe and
what is not, each finding with what to do about it. Off loopback means reachable by
other machines: there a webhook secret is required, and ``/metrics``, ``/healthz`` and
dashboards should not be open to anyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agentic_trading.gateway.replay import window_fits_dedup
from agentic_trading.settings import Settings, is_loopback

__all__ = ["PostureFinding", "is_loopback", "security_posture"]

MIN_SECRET_LENGTH = 16
# Components whose port serves /metrics or /healthz (every service and exporter has one).
_DASHBOARDS = "dashboards"


@dataclass(frozen=True, slots=True)
class PostureFinding:
    """One fact about the stack's exposure; ``message`` says what to do when ``ok`` is False."""

    name: str
    ok: bool
    message: str


def security_posture(
    settings: Settings,
    bound_addresses: Mapping[str, str],
    *,
    dashboards_anonymous: bool = False,
) -> list[PostureFinding]:
    """Findings on the webhook secret, exposed endpoints, dashboards and the gateway's limits.

    ``bound_addresses`` maps a component name to the address it listens on; a component
    missing from it is not running and not judged. ``dashboards_anonymous`` says whether the
    dashboards let anyone in without logging in.
    """
    exposed = sorted(name for name, address in bound_addresses.items() if not is_loopback(address))
    gateway_exposed = "gateway" in exposed
    findings = [
        _webhook_secret(settings, gateway_exposed),
        _exposed_endpoints(exposed, bound_addresses),
        _dashboards(bound_addresses, dashboards_anonymous),
        _replay_window(settings),
        _rate_limit(settings, gateway_exposed),
        _trust_proxy(settings, gateway_exposed),
    ]
    return findings


def _webhook_secret(settings: Settings, gateway_exposed: bool) -> PostureFinding:
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else ""
    if not secret:
        if gateway_exposed:
            return PostureFinding(
                "webhook_secret",
                False,
                "the gateway is reachable off loopback without a webhook secret: anyone can send signals; "
                'set AT_WEBHOOK_SECRET (and put it in the TradingView alert as "secret")',
            )
        return PostureFinding(
            "webhook_secret",
            True,
            "no webhook secret; acceptable only while the gateway listens on loopback (set AT_WEBHOOK_SECRET before exposing it)",
        )
    if len(secret) < MIN_SECRET_LENGTH:
        return PostureFinding(
            "webhook_secret",
            False,
            f"the webhook secret is shorter than {MIN_SECRET_LENGTH} characters: use a long random one "
            "(python -c 'import secrets; print(secrets.token_urlsafe(32))')",
        )
    sources = f", senders limited to {settings.allowed_sources}" if settings.allowed_sources else ""
    return PostureFinding("webhook_secret", True, f"webhooks must carry the secret or an HMAC signature{sources}")


def _exposed_endpoints(exposed: list[str], bound_addresses: Mapping[str, str]) -> PostureFinding:
    others = [name for name in exposed if name != _DASHBOARDS]
    if not others:
        return PostureFinding("exposed_endpoints", True, "every /metrics and /healthz endpoint listens on loopback only")
    where = ", ".join(f"{name} on {bound_addresses[name]}" for name in others)
    advice = "bind them to 127.0.0.1 (AT_HOST) or firewall them"
    if "gateway" in others:
        advice += "; in front of the gateway, let the proxy forward only /webhook/ paths"
    return PostureFinding(
        "exposed_endpoints",
        False,
        f"/metrics and /healthz are reachable off loopback ({where}): they reveal traffic and topology; {advice}",
    )


def _dashboards(bound_addresses: Mapping[str, str], anonymous: bool) -> PostureFinding:
    address = bound_addresses.get(_DASHBOARDS)
    if address is None:
        return PostureFinding("dashboards_access", True, "no dashboards are running")
    if is_loopback(address):
        return PostureFinding("dashboards_access", True, f"dashboards listen on {address} (loopback only)")
    if anonymous:
        return PostureFinding(
            "dashboards_access",
            False,
            f"dashboards on {address} let anyone in without logging in: turn anonymous access off "
            "(Grafana: auth.anonymous enabled = false) or bind them to 127.0.0.1",
        )
    return PostureFinding("dashboards_access", True, f"dashboards on {address} require a login")


def _replay_window(settings: Settings) -> PostureFinding:
    if settings.max_signal_age_s <= 0:
        return PostureFinding(
            "replay_window",
            False,
            "replay protection is off (AT_MAX_SIGNAL_AGE_S=0): a captured webhook can be replayed after the "
            f"{settings.dedup_window_s:g} s deduplication window; set AT_MAX_SIGNAL_AGE_S (e.g. 90)",
        )
    window = settings.max_signal_age_s + settings.max_clock_skew_s
    if not window_fits_dedup(settings):
        return PostureFinding(
            "replay_window",
            False,
            f"the replay window ({settings.max_signal_age_s:g} s old + {settings.max_clock_skew_s:g} s ahead = "
            f"{window:g} s) is longer than the {settings.dedup_window_s:g} s deduplication window: a replay in "
            "between would be a new signal; lower AT_MAX_SIGNAL_AGE_S or raise AT_DEDUP_WINDOW_S",
        )
    return PostureFinding(
        "replay_window",
        True,
        f"signals older than {settings.max_signal_age_s:g} s are refused and replays inside that are deduplicated",
    )


def _rate_limit(settings: Settings, gateway_exposed: bool) -> PostureFinding:
    if settings.rate_limit_per_s <= 0:
        return PostureFinding(
            "rate_limit",
            not gateway_exposed,
            "no per-source rate limit (AT_RATE_LIMIT_PER_S=0)"
            + ("; the gateway is reachable off loopback: set one" if gateway_exposed else ""),
        )
    return PostureFinding(
        "rate_limit",
        True,
        f"{settings.rate_limit_per_s:g}/s per source, bursts of {settings.rate_limit_burst}, "
        f"per gateway worker; exempt: {settings.rate_limit_exempt or 'none'}",
    )


def _trust_proxy(settings: Settings, gateway_exposed: bool) -> PostureFinding:
    if settings.trust_proxy and gateway_exposed:
        return PostureFinding(
            "trust_proxy",
            False,
            "AT_TRUST_PROXY is set but the gateway itself is reachable off loopback: a client that bypasses the "
            "proxy can forge X-Forwarded-For and escape the allow-list and rate limit; bind the gateway to loopback",
        )
    if settings.trust_proxy:
        return PostureFinding("trust_proxy", True, "client addresses come from the proxy's X-Forwarded-For")
    return PostureFinding("trust_proxy", True, "client addresses are the connection's peer (X-Forwarded-For ignored)")
