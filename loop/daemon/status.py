"""One live status line while the daemon runs: experiment, step, elapsed, best quality so far, and
"waiting for the judge since HH:MM (n tries)" (or "for the agent's API") while it is unreachable (loop/daemon/waiting.py).

Rich `Live` on a terminal; when stderr is not a terminal, a plain line per step change instead.
"""

from __future__ import annotations

import sys
import threading
import time

from rich.console import Console
from rich.live import Live
from rich.text import Text


class StatusLine:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.console = Console(stderr=True)
        self.number: int | None = None
        self.step_name = "starting"
        self.started = time.monotonic()
        self.best_quality: float | None = None
        self.waiting_line: str | None = None  # "waiting for the judge since HH:MM (n tries)"
        self._live: Live | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> "StatusLine":
        if self.enabled and self.console.is_terminal:
            self._live = Live(self.render(), console=self.console, refresh_per_second=2, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)
            self._live = None

    def render(self) -> Text:
        exp = f"experiment {self.number:04d}" if self.number is not None else "no experiment yet"
        elapsed = time.monotonic() - self.started
        best = f"{self.best_quality:.4f}" if self.best_quality is not None else "—"
        waiting = f" · {self.waiting_line}" if self.waiting_line else ""
        return Text(f"autoresearch · {exp} · step {self.step_name}{waiting} · {elapsed:6.0f}s · best {best}")

    def step(self, number: int, step: str) -> None:
        with self._lock:
            if number != self.number:
                self.started = time.monotonic()
            self.number, self.step_name = number, step
        if self._live is not None:
            self._live.update(self.render())
        elif self.enabled and step in ("claimed", "done"):
            print(self.render().plain, file=sys.stderr, flush=True)

    def waiting(self, outage) -> None:
        """An `Outage` (its `line()`) while waiting for the judge or the agent's API; None once it answers."""
        with self._lock:
            self.waiting_line = outage.line() if outage is not None else None
        if self._live is not None:
            self._live.update(self.render())
        elif self.enabled and outage is not None:
            print(self.render().plain, file=sys.stderr, flush=True)

    def best(self, quality: float | None) -> None:
        self.best_quality = quality
        self.refresh()

    def refresh(self) -> None:
        if self._live is not None:
            self._live.update(self.render())
