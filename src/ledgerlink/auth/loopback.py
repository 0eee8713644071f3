"""The loopback listener that catches the browser's redirect at the end of OAuth consent.

A tiny stdlib HTTP server on 127.0.0.1 (the redirect URI's port, or a free one for port 0) runs
in a thread, answers the first request to the redirect path with a short "you can close this tab"
page and hands the full redirect URL to whoever waits for it. It never listens on anything but
the loopback interface, and it never logs a request line (it carries the authorization code).
"""

from __future__ import annotations

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit, urlunsplit

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1"}

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>ledgerlink</title></head>
<body style="font-family: sans-serif; margin: 3em">
<h1>{title}</h1><p>{text}</p><p>You can close this tab and return to the terminal.</p>
</body></html>
"""


def loopback_address(redirect_uri: str) -> tuple[str, int, str]:
    """(bind host, port, path) of a loopback redirect URI; ValueError naming what is wrong."""
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http":
        raise ValueError("the browser flow needs an http:// redirect URI on 127.0.0.1 or localhost")
    host = (parts.hostname or "").lower()
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the browser flow only listens on 127.0.0.1 or localhost, not {host or '(none)'}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the redirect URI's port is not a number") from None
    return LOOPBACK_HOSTS[host], 80 if port is None else port, parts.path or "/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: LoopbackReceiver


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a browser's idle pre-connection must not hold the thread forever

    def do_GET(self) -> None:
        receiver = self.server.receiver
        parts = urlsplit(self.path)
        if parts.path != receiver.path:
            self._answer(404, "Not found", "This address is not ledgerlink's sign-in callback.")
            return
        first = receiver.deliver(self.path)
        query = parse_qs(parts.query)
        if not first:
            self._answer(200, "Already received", "ledgerlink already has the answer from this sign-in.")
        elif "error" in query:
            self._answer(200, "Not connected", f"The authorization was not granted ({query['error'][0]}).")
        else:
            self._answer(200, "Authorization received", "ledgerlink is finishing the connection.")

    def _answer(self, status: int, title: str, text: str) -> None:
        body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # request lines carry the authorization code: never print them


class LoopbackReceiver:
    """Listens on the loopback redirect URI until the browser arrives; a context manager.

    ``redirect_uri`` is the URI to send to the provider: the given one, with the real port when
    the given port was 0.
    """

    def __init__(self, redirect_uri: str) -> None:
        self._given = urlsplit(redirect_uri)
        self._bind_host, self._port, self.path = loopback_address(redirect_uri)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._arrived = threading.Event()
        self._lock = threading.Lock()
        self._redirect: str | None = None

    @property
    def redirect_uri(self) -> str:
        host = self._given.hostname or self._bind_host
        netloc = f"{host}:{self._port}"
        return urlunsplit(("http", netloc, self.path, self._given.query, ""))

    def start(self) -> LoopbackReceiver:
        """Bind and serve in a daemon thread; OSError when the port is taken."""
        server = _Server((self._bind_host, self._port), _Handler)
        server.receiver = self
        self._port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="ledgerlink-oauth-loopback",
            daemon=True,
        )
        self._thread.start()
        return self

    def deliver(self, path_and_query: str) -> bool:
        """Record the browser's redirect; False when one was already recorded."""
        with self._lock:
            if self._redirect is not None:
                return False
            parts = urlsplit(path_and_query)
            self._redirect = urlunsplit(
                ("http", urlsplit(self.redirect_uri).netloc, parts.path, parts.query, "")
            )
        self._arrived.set()
        return True

    def wait(self, timeout: float) -> str | None:
        """The full redirect URL the browser came back with, or None after ``timeout`` seconds."""
        if not self._arrived.wait(timeout):
            return None
        return self._redirect

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> LoopbackReceiver:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["LoopbackReceiver", "loopback_address"]
