"""One daemon per worker name on a repository: an fcntl lock on
`<repo>/.autoresearch/workers/<name>.lock` holding the pid. Several workers (different names) may run
on one repository; the record's `workers` table holds each name across hosts (loop/daemon/workers.py).

The lock dies with its process (even on SIGKILL), so a stale file never blocks a restart.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class DaemonAlreadyRunning(RuntimeError):
    def __init__(self, path: Path, pid: int | None, name: str):
        self.path, self.pid, self.name = path, pid, name
        who = f"pid {pid}" if pid else "another process"
        stop = f"; stop it first, e.g. `kill -TERM {pid}`, or choose another name with `--worker NAME`" if pid else ""
        super().__init__(f"another autoresearch daemon ({who}) is already running as worker {name!r} on this "
                         f"repository (lock {path}){stop}")


def locks_dir(repo: Path) -> Path:
    return Path(repo) / ".autoresearch" / "workers"


def lock_path(repo: Path, name: str) -> Path:
    return locks_dir(repo) / f"{name}.lock"


def _holder(path: Path) -> int | None:
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().strip()
            return int(text) if text.isdigit() else -1
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def holder_pid(repo: Path, name: str) -> int | None:
    """The pid of the daemon running as worker `name` on this repository, or None."""
    path = lock_path(repo, name)
    return _holder(path) if path.exists() else None


def local_holders(repo: Path) -> dict[str, int]:
    """Worker name -> pid of every daemon running on this repository (on this host)."""
    folder = locks_dir(repo)
    found = {}
    for path in sorted(folder.glob("*.lock")) if folder.exists() else []:
        pid = _holder(path)
        if pid is not None:
            found[path.stem] = pid
    return found


class DaemonLock:
    def __init__(self, repo: Path, name: str):
        self.path, self.name = lock_path(repo, name), name
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
            raise DaemonAlreadyRunning(self.path, int(text) if text.isdigit() else None, self.name) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            try:  # a default name (<host>-<pid>) is never used again: leave no file behind (unlinked
                self.path.unlink()  # while held; the record's `workers` row is the guard across hosts)
            except OSError:
                pass
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "DaemonLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
