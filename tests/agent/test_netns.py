"""The network-namespace wrapper the CLI tests rely on: only the bridged port is reachable."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.support import netns

pytestmark = pytest.mark.skipif(not netns.available(), reason="needs permission to create network namespaces")

PROBE = """
import socket, sys
for port in map(int, sys.argv[1:]):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2); s.sendall(b"ping"); print(port, s.recv(10).decode())
    except OSError as exc:
        print(port, "unreachable")
"""


def _echo_server() -> tuple[socket.socket, threading.Thread]:
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            with conn:
                conn.sendall(b"pong:" + conn.recv(10))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return srv, thread


def test_only_the_bridged_port_is_reachable() -> None:
    bridged, t1 = _echo_server()
    other, t2 = _echo_server()
    short = Path(tempfile.mkdtemp(prefix="nsb-", dir="/tmp"))
    try:
        port, other_port = bridged.getsockname()[1], other.getsockname()[1]
        with netns.UnixToTcpBridge(short / "s", port):
            wrapper = netns.isolated_cli(short, sys.executable, port, short / "s")
            done = subprocess.run([str(wrapper), "-c", PROBE, str(port), str(other_port)], capture_output=True,
                                  text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [f"{port} pong:ping", f"{other_port} unreachable"]
        # the same probe outside the namespace reaches both: the control
        control = subprocess.run([sys.executable, "-c", PROBE, str(other_port)], capture_output=True, text=True,
                                 timeout=60)
        assert control.stdout.strip() == f"{other_port} pong:ping"
    finally:
        for srv, thread in ((bridged, t1), (other, t2)):
            srv.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            srv.close()
            thread.join(timeout=5)
        shutil.rmtree(short, ignore_errors=True)
