"""watchdog observers: `ruler/` (any change that breaks RULER.lock halts the loop) and the adapter
inbox `<repo>/adapters/inbox/` (a dropped `.gguf` file or `.fmadapter` bundle, with its metadata file
`<adapter>.json` beside it, goes into the adapter store and becomes an interactive experiment). An
adapter without valid metadata (or an `.fmadapter` whose metadata.json, name or base-model signature
fails `loop.training.fmadapter`) is refused with a message naming the file, and offered again once it
changes.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from loop.errors import InputError
from loop.ruler_lock import verify_lock

log = logging.getLogger("loop.daemon")
ADAPTER_SUFFIXES = (".gguf", ".fmadapter")
SETTLE_S = 1.0  # a dropped file counts once its size stopped changing for this long


def inbox_dir(repo: Path) -> Path:
    return Path(repo) / "adapters" / "inbox"


def is_adapter(path: Path) -> bool:
    return path.suffix in ADAPTER_SUFFIXES and not path.name.startswith(".")


class RulerWatch(FileSystemEventHandler):
    """Calls `on_tamper(problems)` once when the ruler stops matching its lock."""

    def __init__(self, ruler_dir: Path, on_tamper: Callable[[list[str]], None]):
        self.ruler_dir, self.on_tamper = Path(ruler_dir), on_tamper
        self.fired = False
        self._lock = threading.Lock()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write") or "__pycache__" in str(event.src_path):
            return
        with self._lock:
            if self.fired:
                return
            problems = verify_lock(self.ruler_dir)
            if problems:
                self.fired = True
        if problems:
            self.on_tamper(problems)


class InboxWatch(FileSystemEventHandler):
    """Queues adapters dropped into the inbox (each path once)."""

    def __init__(self, inbox: Path):
        self.inbox = Path(inbox)
        self.queue: "queue.Queue[Path]" = queue.Queue()
        self._seen: set[Path] = set()
        self._lock = threading.Lock()
        self.runner_signature: Callable[[], str | None] | None = None  # the runner's base-model signature

    def scan(self) -> None:
        if self.inbox.exists():
            for path in sorted(self.inbox.iterdir()):
                self._offer(path)

    def on_created(self, event: FileSystemEvent) -> None:
        self._offer(Path(event.src_path))

    def on_moved(self, event: FileSystemEvent) -> None:
        self._offer(Path(event.dest_path))

    def on_modified(self, event: FileSystemEvent) -> None:
        if Path(event.src_path).suffix == ".json":
            self._offer(Path(event.src_path))

    def _offer(self, path: Path) -> None:
        top = self._top_level(path)
        if top is not None and top.suffix == ".json" and is_adapter(top.with_suffix("")):
            top = top.with_suffix("")  # its metadata file arrived: offer the adapter (again)
            if not top.exists():
                return
            with self._lock:
                self._seen.discard(top)
        if top is None or not is_adapter(top):
            return
        with self._lock:
            if top in self._seen:
                return
            self._seen.add(top)
        log.info("adapter inbox: %s dropped; it will be evaluated as an interactive experiment", top.name)
        self.queue.put(top)

    def _top_level(self, path: Path) -> Path | None:
        try:
            rel = path.relative_to(self.inbox)
        except ValueError:
            return None
        return self.inbox / rel.parts[0] if rel.parts else None

    def next_ready(self) -> Path | None:
        """The next dropped adapter that has finished arriving, or None."""
        try:
            path = self.queue.get_nowait()
        except queue.Empty:
            return None
        if not wait_settled(path):
            log.warning("adapter inbox: %s vanished before it could be registered", path.name)
            return None
        from loop.adapters.register import read_drop_metadata

        try:
            read_drop_metadata(path)
            if path.suffix == ".fmadapter":
                from loop.training.fmadapter import validate_fmadapter

                validate_fmadapter(path, self.runner_signature() if self.runner_signature else None)
        except InputError as exc:
            log.error("adapter inbox: %s refused: %s", path.name, exc)
            self.forget(path)  # offered again when it changes (a corrected metadata.json, a new sidecar)
            return None
        return path

    def forget(self, path: Path) -> None:
        with self._lock:
            self._seen.discard(path)


def _size(path: Path) -> int | None:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return None


def wait_settled(path: Path, settle_s: float = SETTLE_S, limit_s: float = 600.0) -> bool:
    deadline = time.monotonic() + limit_s
    last = _size(path)
    while time.monotonic() < deadline:
        time.sleep(settle_s)
        now = _size(path)
        if now is None:
            return False
        if now == last:
            return True
        last = now
    return True


class Watchers:
    def __init__(self, repo: Path, ruler_dir: Path, on_tamper: Callable[[list[str]], None]):
        self.ruler = RulerWatch(ruler_dir, on_tamper)
        self.inbox = InboxWatch(inbox_dir(repo))
        self.observer = Observer()
        self.ruler_dir = Path(ruler_dir)

    def start(self) -> "Watchers":
        self.inbox.inbox.mkdir(parents=True, exist_ok=True)
        self.observer.schedule(self.ruler, str(self.ruler_dir), recursive=True)
        self.observer.schedule(self.inbox, str(self.inbox.inbox), recursive=True)
        self.observer.daemon = True
        self.observer.start()
        self.inbox.scan()
        return self

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)
