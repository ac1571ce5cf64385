"""Where a load run sends: the target URL, parsed once, and the head of every request to it."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from agentic_trading.load.errors import LoadError


@dataclass(frozen=True)
class Target:
    """Where requests go: a parsed ``http(s)://host:port/path`` URL."""

    url: str
    scheme: str
    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadError(f"target {url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8001/webhook/tradingview)")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise LoadError(f"target {url!r} has a bad port: {exc}") from None
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(url=url, scheme=parts.scheme, host=parts.hostname, port=port, path=path)

    @property
    def request_head(self) -> bytes:
        """Everything of a POST request up to the Content-Length value."""
        default_port = 443 if self.scheme == "https" else 80
        host = self.host if self.port == default_port else f"{self.host}:{self.port}"
        if ":" in self.host and not host.startswith("["):
            host = f"[{self.host}]" if self.port == default_port else f"[{self.host}]:{self.port}"
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: atctl-load\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode("latin-1")
