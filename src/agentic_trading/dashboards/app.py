"""The viewer's HTTP surface, with Grafana's URLs: ``/d/<uid>``, ``/login``, ``/api/…``, ``/public/…``.

Framework-free ASGI like the other services (``telemetry/http.py``). Read-only: the only
request that is not a GET is the login form. Routes:

``/``                                   the dashboards (Grafana's home)
``/d/<uid>[/<slug>]``                   one dashboard; the page reads ``from``, ``to``, ``var-*``, ``refresh``
``/login`` (GET, POST), ``/logout``     the password, when one is set (``auth.py``)
``/api/search``                         the dashboards as Grafana's search API lists them
``/api/dashboards/uid/<uid>``           ``{"dashboard": <the file, unchanged>, "meta": …}``
``/api/datasources/proxy/uid/<ds>/…``   Prometheus, read-only (``proxy.py``)
``/public/…``                           the page's script, styles and the vendored uPlot
``/healthz``                            for ``atctl status``
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import parse_qs, quote

from agentic_trading.dashboards import pages
from agentic_trading.dashboards.auth import COOKIE, SESSION_S, Sessions, safe_next
from agentic_trading.dashboards.proxy import PrometheusProxy, split_proxy_path
from agentic_trading.observability.dashboards import Dashboard
from agentic_trading.service.http import Receive, Scope, Send, read_body, send_json

SERVICE = "dashboards"
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_FORM_BYTES = 4096
_OPEN_PATHS = ("/login", "/healthz")


async def _send(
    send: Send, status: int, body: bytes, content_type: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"x-content-type-options", b"nosniff"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _send_html(send: Send, status: int, html: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await _send(send, status, html.encode(), "text/html; charset=utf-8", headers)


async def _redirect(send: Send, location: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await _send(send, 302, b"", "text/plain", [(b"location", location.encode()), *(headers or [])])


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                cookie_name, _, cookie_value = part.strip().partition("=")
                if cookie_name == name:
                    return cookie_value
    return None


def _error_body(error: str, field: str, message: str) -> dict[str, object]:
    return {"error": error, "errors": [{"field": field, "message": message}]}


class DashboardsApp:
    """The viewer over ``dashboards`` (uid -> file), ``proxy`` and ``sessions``."""

    def __init__(self, dashboards: dict[str, Dashboard], proxy: PrometheusProxy, sessions: Sessions):
        self.dashboards = dashboards
        self.proxy = proxy
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/login" and method == "POST":
            await self._login(scope, receive, send)
            return
        if method not in ("GET", "HEAD"):
            await send_json(send, 405, _error_body("method_not_allowed", "method", f"{method}: this viewer is read-only"))
            return
        if path in _OPEN_PATHS or path.startswith(pages.STATIC + "/"):
            await self._open_route(scope, send, path)
            return
        signed_in = self.sessions.valid(_cookie(scope, COOKIE))
        if not signed_in:
            if path.startswith("/api/"):
                await send_json(send, 401, _error_body("unauthorized", "session", "log in at /login first"))
            else:
                target = path + ("?" + scope["query_string"].decode("latin-1") if scope.get("query_string") else "")
                await _redirect(send, "/login?next=" + quote(target, safe=""))
            return
        await self._route(scope, send, path, signed_in=not self.sessions.anonymous)

    async def _open_route(self, scope: Scope, send: Send, path: str) -> None:
        if path == "/healthz":
            await send_json(send, 200, {"status": "ok", "service": SERVICE, "dashboards": len(self.dashboards)})
        elif path == "/login":
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            next_path = safe_next(query.get("next", ["/"])[-1])
            failed = query.get("failed", [""])[-1] == "1"
            await _send_html(send, 200, pages.login_page(next_path, failed=failed, anonymous=self.sessions.anonymous))
        else:
            await self._static(send, path[len(pages.STATIC) + 1 :])

    async def _route(self, scope: Scope, send: Send, path: str, *, signed_in: bool) -> None:
        if path == "/":
            await _send_html(send, 200, pages.home_page(self.dashboards.values(), signed_in=signed_in))
        elif path == "/logout":
            expired = f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax".encode()
            await _redirect(send, "/login", [(b"set-cookie", expired)])
        elif path.startswith("/d/"):
            uid = path[3:].split("/", 1)[0]
            dashboard = self.dashboards.get(uid)
            if dashboard is None:
                await _send_html(send, 404, pages.not_found_page(f"No dashboard with uid {uid!r}.", signed_in=signed_in))
            else:
                await _send_html(send, 200, pages.dashboard_page(dashboard, signed_in=signed_in))
        elif path == "/api/search":
            await send_json(send, 200, [self._search_hit(d) for d in self.dashboards.values()])
        elif path.startswith("/api/dashboards/uid/"):
            await self._dashboard_json(send, path[len("/api/dashboards/uid/") :])
        elif (proxied := split_proxy_path(path)) is not None:
            answer = await self.proxy.forward(proxied[0], proxied[1], scope.get("query_string", b""))
            await _send(send, answer.status, answer.body, answer.content_type)
        else:
            await _send_html(send, 404, pages.not_found_page(f"Nothing at {path}.", signed_in=signed_in))

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_body(receive, MAX_FORM_BYTES)
        if body is None:
            await send_json(send, 413, _error_body("payload_too_large", "body", f"larger than {MAX_FORM_BYTES} bytes"))
            return
        form = parse_qs(body.decode("utf-8", errors="replace"))
        user = form.get("user", [""])[-1]
        password = form.get("password", [""])[-1]
        next_path = safe_next(form.get("next", ["/"])[-1])
        if not self.sessions.credentials_ok(user, password):
            await _redirect(send, "/login?failed=1&next=" + quote(next_path, safe=""))
            return
        cookie = f"{COOKIE}={self.sessions.issue()}; Path=/; Max-Age={SESSION_S}; HttpOnly; SameSite=Lax"
        await _redirect(send, next_path, [(b"set-cookie", cookie.encode())])

    async def _dashboard_json(self, send: Send, uid: str) -> None:
        dashboard = self.dashboards.get(uid)
        if dashboard is None:
            known = ", ".join(self.dashboards)
            await send_json(send, 404, _error_body("not_found", "uid", f"no dashboard {uid!r}; known: {known}"))
            return
        meta = {"slug": _slug(dashboard.title), "url": f"/d/{dashboard.uid}", "file": dashboard.path.name, "canEdit": False}
        await send_json(send, 200, {"dashboard": dashboard.document, "meta": meta})

    @staticmethod
    def _search_hit(dashboard: Dashboard) -> dict[str, object]:
        return {
            "uid": dashboard.uid,
            "title": dashboard.title,
            "url": f"/d/{dashboard.uid}",
            "type": "dash-db",
            "tags": dashboard.tags,
        }

    async def _static(self, send: Send, relative: str) -> None:
        target = (STATIC_DIR / relative).resolve()
        if not target.is_relative_to(STATIC_DIR) or not target.is_file():
            await send_json(send, 404, _error_body("not_found", "path", f"no static file {relative!r}"))
            return
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type.endswith("javascript"):
            content_type += "; charset=utf-8"
        await _send(send, 200, target.read_bytes(), content_type)


def _slug(title: str) -> str:
    return "-".join("".join(c.lower() if c.isalnum() else " " for c in title).split())
