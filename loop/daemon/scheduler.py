"""When iterations run: one at a time on a worker thread, run windows and `--until`, on a clock.

The scheduler runs a single job, the iteration, re-armed after each run for `interval_s` later, or
for the next opening of the run window: a `--window` run sleeps through the day and works every
night. Runs never overlap (one worker, one armed date); a date already past (the machine slept)
runs once, at once. Time comes from a `Clock`: `SystemClock` sleeps for real and wakes on a stop;
tests pass a clock they advance themselves, so a run across two midnights takes no real hours.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Callable, Protocol


@dataclass(frozen=True)
class Window:
    """A daily run window "HH:MM-HH:MM"; it may cross midnight ("22:00-07:00")."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "Window":
        try:
            a, b = (part.strip() for part in text.split("-"))
            return cls(parse_hhmm(a), parse_hhmm(b))
        except ValueError:
            raise ValueError(f"run window {text!r}: expected \"HH:MM-HH:MM\", e.g. \"22:00-07:00\"") from None

    def contains(self, moment: datetime) -> bool:
        now = moment.time()
        if self.start <= self.end:
            return self.start <= now < self.end
        return now >= self.start or now < self.end

    def next_open(self, moment: datetime) -> datetime:
        """The next moment the window opens (== moment when already inside)."""
        if self.contains(moment):
            return moment
        opening = moment.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        return opening if opening > moment else opening + timedelta(days=1)

    def opened_at(self, moment: datetime) -> datetime | None:
        """When the window occurrence containing `moment` opened (None outside the window)."""
        if not self.contains(moment):
            return None
        opening = moment.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        return opening if opening <= moment else opening - timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_hhmm(text: str) -> time:
    hour, minute = text.strip().split(":")
    return time(int(hour), int(minute))


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep_until(self, moment: datetime, cancel: threading.Event) -> bool:
        """Block until `moment` (True) or until `cancel` is set (False)."""
        ...


class SystemClock:
    """Local wall-clock time; sleeps in short slices so a changed clock or a suspend is noticed."""

    SLICE_S = 1.0

    def now(self) -> datetime:
        return datetime.now()

    def sleep_until(self, moment: datetime, cancel: threading.Event) -> bool:
        while not cancel.is_set():
            remaining = (moment - datetime.now()).total_seconds()
            if remaining <= 0:
                return True
            cancel.wait(min(remaining, self.SLICE_S))
        return False


def until_moment(text: str, now: datetime | None = None) -> datetime:
    """The next occurrence of HH:MM (today if still ahead, else tomorrow)."""
    now = now or datetime.now()
    try:
        t = parse_hhmm(text)
    except ValueError:
        raise ValueError(f"--until {text!r}: expected HH:MM") from None
    moment = now.replace(hour=t.hour, minute=t.minute, second=0, microsecond=0)
    return moment if moment > now else moment + timedelta(days=1)


class IterationScheduler:
    """Runs `job` on one worker thread at the armed dates; the caller's thread watches and renders."""

    def __init__(self, job: Callable[[], None], interval_s: float, window: Window | None = None,
                 clock: Clock | None = None):
        self.job, self.interval_s, self.window = job, interval_s, window
        self.clock = clock or SystemClock()
        self.next_at: datetime | None = None
        self._armed: queue.Queue[datetime] = queue.Queue()
        self._cancel = threading.Event()
        self._worker: threading.Thread | None = None

    def next_run(self, after: datetime | None = None) -> datetime:
        moment = after or self.clock.now()
        return self.window.next_open(moment) if self.window else moment

    def start(self) -> datetime:
        self._worker = threading.Thread(target=self._work, name="iteration", daemon=True)
        self._worker.start()
        return self._arm(self.next_run())

    def rearm(self) -> datetime:
        """Schedule the next iteration `interval_s` from now (or at the window's next opening)."""
        return self._arm(self.next_run(self.clock.now() + timedelta(seconds=self.interval_s)))

    def _arm(self, when: datetime) -> datetime:
        self.next_at = when
        self._armed.put(when)
        return when

    def _work(self) -> None:
        while not self._cancel.is_set():
            try:
                when = self._armed.get(timeout=0.25)
            except queue.Empty:
                continue
            if self.clock.sleep_until(when, self._cancel) and not self._cancel.is_set():
                self.job()

    def shutdown(self) -> None:
        """Cancel what is armed; a running job is waited for (it watches the daemon's stop request)."""
        self._cancel.set()
        if self._worker is not None and self._worker is not threading.current_thread():
            self._worker.join()
