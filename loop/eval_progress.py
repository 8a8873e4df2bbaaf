"""A two-bar progress display for an evaluation: answers generated, answers judged."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class EvalProgress:
    def __init__(self, total: int, enabled: bool = True):
        self._lock = threading.Lock()
        self._progress = Progress(
            TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"), console=Console(stderr=True), disable=not enabled, transient=False,
        )
        self._gen = self._progress.add_task("generate", total=total, note="")
        self._judge = self._progress.add_task("judge", total=total, note="")

    def __enter__(self) -> "EvalProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def generated(self, case_id: str) -> None:
        with self._lock:
            self._progress.update(self._gen, advance=1, note=case_id)

    def judged(self) -> None:
        with self._lock:
            self._progress.update(self._judge, advance=1)
