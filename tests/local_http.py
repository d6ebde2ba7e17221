"""A local HTTP server on 127.0.0.1 answering GETs with a function: tests never use the network."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

Answer = tuple[int, dict[str, str], bytes]
"""``(status, headers, body)``."""


def reply(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    """Send one whole response; a client that hung up is not an error here."""
    try:
        handler.send_response(status)
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    """Start ``handler`` on a free 127.0.0.1 port in a daemon thread: ``(server, base URL)``."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


class LocalServer:
    """``answer(path, query) -> (status, headers, body)`` for every GET; counts requests by path."""

    def __init__(self, answer: Callable[[str, str], Answer]) -> None:
        self.hits: Counter[str] = Counter()
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                path = unquote(parts.path)
                with lock:
                    server.hits[path] += 1
                status, headers, body = answer(path, parts.query)
                reply(self, status, headers, body)

            def log_message(self, *args) -> None:
                pass

        self.httpd, self.base = serve(Handler)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
