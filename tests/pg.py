"""A throwaway PostgreSQL server for the tests, from the Debian server packages.

`PgServer.start()` runs `initdb` into a fresh directory under /tmp and starts `postgres` listening on
a unix socket in that directory only (no TCP port, so parallel test runs never collide), with
durability off (fsync, synchronous_commit, full_page_writes: a test database is thrown away).

- As root, `initdb` and `postgres` refuse to run: both run as an unprivileged user (`postgres` when
  Debian's package created it, else `nobody`) through `setpriv`, and the directory is handed to it.
- The server is stopped by `stop()`; should the test process die first (even by SIGKILL), a small
  watchdog process that holds the read end of a pipe from it sees the pipe close and stops the
  server, then removes the directory.
- `create_database()` gives each test a database of its own; its URL uses the psycopg driver.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
SUPERUSER = "autoresearch"
SETTINGS = {"listen_addresses": "''", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
            "max_connections": "200", "shared_buffers": "32MB"}


def find_bindir() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres: PATH first, then Debian's versioned dirs."""
    found = shutil.which("initdb")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for directory in candidates:
        if all((directory / tool).exists() for tool in SERVER_TOOLS):
            return directory
    return None


def _run_as() -> list[str]:
    """The command prefix that runs a server tool as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", "--"]
    raise RuntimeError("running as root with neither a `postgres` nor a `nobody` user to run PostgreSQL as")


def _owner() -> tuple[int, int] | None:
    prefix = _run_as()
    if not prefix:
        return None
    uid = int(prefix[1].split("=")[1])
    gid = int(prefix[2].split("=")[1])
    return uid, gid


WATCHDOG = """
import subprocess, shutil, sys
sys.stdin.buffer.read()  # returns when the test process closes the pipe or dies
subprocess.run(sys.argv[1:-1], capture_output=True)
shutil.rmtree(sys.argv[-1], ignore_errors=True)
"""


@dataclass
class PgServer:
    bindir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="autoresearch-pg-")))
    _watchdog: subprocess.Popen | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    def _tool(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*_run_as(), str(self.bindir / name), *args], capture_output=True, text=True,
                              cwd="/", timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"{name} {' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done

    def start(self) -> "PgServer":
        self.root.chmod(0o755)
        self.socket_dir.mkdir()
        owner = _owner()
        if owner:
            for path in (self.root, self.socket_dir):
                os.chown(path, *owner)
        self._tool("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8",
                   "--locale=C")
        options = " ".join([f"-k {self.socket_dir}"] + [f"-c {k}={v}" for k, v in SETTINGS.items()])
        stop = [*_run_as(), str(self.bindir / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate"]
        self._watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, *stop, str(self.root)],
                                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL, start_new_session=True)
        self._tool("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.root / "server.log"),
                   "-o", options)
        return self

    def stop(self) -> None:
        if self.data.exists():
            self._tool("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", check=False)
        if self._watchdog is not None:  # nothing left for it to stop: let it remove the directory and exit
            self._watchdog.stdin.close()
            self._watchdog.wait(timeout=60)
            self._watchdog = None
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def admin(self, sql: str) -> None:
        """One statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def log_tail(self, lines: int = 20) -> str:
        path = self.root / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""
