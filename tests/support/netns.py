"""Run a process with no network except one forwarded port (Linux, root): for tests of the real CLI.

`unshare -n` gives a process its own network namespace with only a loopback device, so a server in
the parent namespace is unreachable from it. The fix is a two-sided bridge through a Unix socket
(file-system sockets cross network namespaces):

    CLI --tcp--> 127.0.0.1:PORT (child namespace, `child_main`) --unix--> UnixToTcpBridge --tcp--> server

`isolated_cli(tmp, cli, port)` writes an executable wrapper usable as `ClaudeAgentOptions.cli_path`;
anything the CLI tries to reach other than 127.0.0.1:PORT fails, so a test that passes proves the CLI
needed nothing but the scripted server.
"""

from __future__ import annotations

import argparse
import fcntl
import shlex
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

SIOCSIFFLAGS = 0x8914
IFF_UP, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x8, 0x40


def available() -> bool:
    """True when this process may create network namespaces (`unshare -n` works)."""
    try:
        return subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass


def _splice(a: socket.socket, b: socket.socket) -> None:
    threads = [threading.Thread(target=_pump, args=pair, daemon=True) for pair in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a.close()
    b.close()


def _serve(listener: socket.socket, connect, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = connect()
        except OSError:
            conn.close()
            continue
        threading.Thread(target=_splice, args=(conn, upstream), daemon=True).start()


class UnixToTcpBridge:
    """Parent side: accept on a Unix socket, forward each connection to host:port. Context manager."""

    def __init__(self, unix_path: Path, port: int, host: str = "127.0.0.1"):
        self.unix_path = Path(unix_path)
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.unix_path))
        self._listener.listen(16)
        connect = lambda: socket.create_connection((host, port), timeout=30)  # noqa: E731
        self._thread = threading.Thread(target=_serve, args=(self._listener, connect, self._stop), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(timeout=5)
        self.unix_path.unlink(missing_ok=True)

    def __enter__(self) -> "UnixToTcpBridge":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def isolated_cli(directory: Path, cli: Path | str, port: int, unix_path: Path) -> Path:
    """Write a wrapper that runs `cli` in a new network namespace, with 127.0.0.1:port bridged out."""
    script = Path(directory) / "claude-netns"
    command = [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--unix", str(unix_path), "--", str(cli)]
    script.write_text(f"#!/bin/sh\nexec unshare -n {shlex.join(command)} \"$@\"\n")
    script.chmod(0o755)
    return script


def bridged_cli(stack, cli: Path | str, port: int) -> Path | None:
    """Where the network namespace works here: a wrapper of `cli` that reaches only 127.0.0.1:`port` (the
    bridge and its short socket directory closed by `stack`, an ExitStack); else None (the CLI as is)."""
    import shutil
    import tempfile

    if not available():
        return None
    short = Path(tempfile.mkdtemp(prefix="nsb-", dir="/tmp"))  # Unix socket paths are short
    stack.callback(shutil.rmtree, short, True)
    stack.enter_context(UnixToTcpBridge(short / "s", port))
    return isolated_cli(short, cli, port, short / "s")


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING, b"\0" * 14))


def child_main(argv: list[str] | None = None) -> int:
    """Inside the new namespace: bring lo up, listen on 127.0.0.1:port -> unix socket, run the command."""
    parser = argparse.ArgumentParser(prog="netns-bridge")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--unix", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    _loopback_up()
    listener = socket.create_server(("127.0.0.1", args.port))

    def connect() -> socket.socket:
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(args.unix)
        return upstream

    threading.Thread(target=_serve, args=(listener, connect, threading.Event()), daemon=True).start()
    child = subprocess.Popen(command)  # inherits stdin/stdout/stderr: the SDK talks to it directly
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
    code = child.wait()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(child_main())
