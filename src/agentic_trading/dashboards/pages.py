"""The viewer's HTML: the login form, the list of dashboards and the shell a dashboard page runs in.

Pure string building (every value escaped). The markup keeps the hooks Grafana's own pages
have and the specification's visual test relies on: ``input[name=user]``,
``input[name=password]``, ``[data-testid='login-submit']`` and ``[data-testid='dashboard']``
(Grafana's home page is a dashboard too, so the list carries it).
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from urllib.parse import quote

from agentic_trading.observability.dashboards import Dashboard

STATIC = "/public"


def _page(title: str, body: str, *, scripts: Iterable[str] = ()) -> str:
    script_tags = "".join(f'<script src="{STATIC}/{escape(name)}"></script>' for name in scripts)
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{STATIC}/vendor/uplot/uPlot.min.css">'
        f'<link rel="stylesheet" href="{STATIC}/dashboards.css">'
        f"</head><body>{body}{script_tags}</body></html>\n"
    )


def _top_bar(inner: str = "", *, signed_in: bool) -> str:
    sign_out = '<a class="top-link" href="/logout">Sign out</a>' if signed_in else ""
    return (
        '<header class="top-bar"><a class="brand" href="/">Agentic Trading · dashboards</a>'
        f'<div class="top-controls">{inner}</div>{sign_out}</header>'
    )


def login_page(next_path: str, *, failed: bool, anonymous: bool) -> str:
    """The form Grafana's login page has: fields ``user`` and ``password``, a ``login-submit`` button."""
    notice = ""
    if failed:
        notice = '<p class="login-error" role="alert">Invalid username or password.</p>'
    elif anonymous:
        notice = (
            '<p class="login-note">This viewer listens on loopback without a password '
            "(AT_DASHBOARDS_PASSWORD is unset): any credentials open it.</p>"
        )
    body = (
        '<main class="login"><form class="login-box" method="post" action="/login">'
        "<h1>Agentic Trading</h1><p>Sign in to the dashboards</p>"
        f"{notice}"
        '<label>Email or username<input name="user" autocomplete="username" placeholder="admin" required></label>'
        '<label>Password<input name="password" type="password" autocomplete="current-password" required></label>'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<button type="submit" data-testid="login-submit">Log in</button>'
        "</form></main>"
    )
    return _page("Log in · Agentic Trading", body)


def home_page(dashboards: Iterable[Dashboard], *, signed_in: bool) -> str:
    """Every dashboard with its title, tags and file: the home page, itself a "dashboard"."""
    rows = "".join(
        '<li class="dash-item">'
        f'<a href="/d/{quote(d.uid)}" data-uid="{escape(d.uid)}">{escape(d.title)}</a>'
        f'<span class="dash-tags">{"".join(f"<span class=tag>{escape(t)}</span>" for t in d.tags)}</span>'
        f'<span class="dash-file">{escape(d.path.name)}</span></li>'
        for d in dashboards
    )
    body = (
        _top_bar(signed_in=signed_in)
        + '<main class="home" data-testid="dashboard" data-uid="home" data-loaded="true">'
        + "<h1>Dashboards</h1>"
        + f'<ul class="dash-list">{rows}</ul>'
        + '<p class="home-note">The same Grafana JSON files Grafana provisions, from '
        + "<code>observability/grafana_dashboards/</code>, against this stack's Prometheus.</p></main>"
    )
    return _page("Dashboards · Agentic Trading", body)


def dashboard_page(dashboard: Dashboard, *, signed_in: bool) -> str:
    """The shell: the page script fetches the dashboard JSON and draws every panel itself."""
    controls = (
        '<div class="variables" id="variables"></div>'
        '<div class="time-controls">'
        '<button type="button" id="zoom-out" title="Zoom out (time range x2)">⊖</button>'
        '<select id="time-range" title="Time range"></select>'
        '<button type="button" id="refresh-now" title="Refresh">⟳</button>'
        '<select id="refresh-every" title="Auto refresh"></select>'
        "</div>"
    )
    body = (
        _top_bar(controls, signed_in=signed_in)
        + f'<main class="dashboard" data-testid="dashboard" data-uid="{escape(dashboard.uid)}" data-loaded="false">'
        + f'<h1 class="dashboard-title">{escape(dashboard.title)}</h1>'
        + '<div class="grid" id="grid"></div></main>'
    )
    return _page(
        f"{dashboard.title} · Agentic Trading",
        body,
        scripts=("vendor/uplot/uPlot.iife.min.js", "grafana.js", "panels.js", "dashboards.js"),
    )


def not_found_page(what: str, *, signed_in: bool) -> str:
    body = _top_bar(signed_in=signed_in) + (
        f'<main class="home"><h1>Not found</h1><p>{escape(what)}</p><p><a href="/">All dashboards</a></p></main>'
    )
    return _page("Not found · Agentic Trading", body)
