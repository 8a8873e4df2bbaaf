"""One daemon per repository: an fcntl lock on `<repo>/.autoresearch/daemon.lock` holding the pid.

The lock dies with its process (even on SIGKILL), so a stale file never blocks a restart.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DaemonAlreadyRunning(RuntimeError):
    def __init__(self, path: Path, pid: int | None):
        self.path, self.pid = path, pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"another autoresearch daemon ({who}) is already running on this repository "
                         f"(lock {path}); stop it first, e.g. `kill -TERM {pid}`" if pid else
                         f"another autoresearch daemon is already running on this repository (lock {path})")


def lock_path(repo: Path) -> Path:
    return Path(repo) / ".autoresearch" / "daemon.lock"


def holder_pid(repo: Path) -> int | None:
    """The pid of the running daemon, or None when no daemon holds the lock."""
    path = lock_path(repo)
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


class DaemonLock:
    def __init__(self, repo: Path):
        self.path = lock_path(repo)
        self._handle = None

    def acquire(self) -> "DaemonLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            handle.close()
            raise DaemonAlreadyRunning(self.path, int(text) if text.isdigit() else None) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "DaemonLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
