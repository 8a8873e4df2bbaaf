"""Serving the dashboard with uvicorn: in the foreground (the CLI) or in a background thread (tests,
benchmark). Loopback only unless the caller explicitly asks otherwise.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str) -> list[str] | None:
    """Host headers accepted on a loopback bind (guards against DNS rebinding); None = any."""
    return ["127.0.0.1", "localhost", "[::1]", host] if is_loopback(host) else None


def _config(app: Starlette, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")


def serve(app: Starlette, host: str, port: int) -> None:
    """Run until Ctrl-C."""
    uvicorn.Server(_config(app, host, port)).run()


class BackgroundServer:
    """`with BackgroundServer(app) as server: urlopen(server.url + "/")` — a free port on 127.0.0.1."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1"):
        self.app, self.host = app, host
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "BackgroundServer":
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        self._server = uvicorn.Server(_config(self.app, self.host, self.port))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"dashboard:{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        source = getattr(self.app.state, "source", None)
        if source is not None:
            source.dispose()

    def __enter__(self) -> "BackgroundServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
