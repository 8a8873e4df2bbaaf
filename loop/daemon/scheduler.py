"""When iterations run: APScheduler 3.11 (one at a time, coalesced), run windows and `--until`.

The scheduler holds a single job, `iteration`, re-armed after each run for `interval_s` later (or for
the opening of the run window). `max_instances=1` means an overlapping run is skipped, never queued;
`coalesce=True` runs once after downtime; `misfire_grace_time` is explicit (the default 1 s would drop
a run that is late because the machine was busy).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Callable

MISFIRE_GRACE_S = 3600


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

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_hhmm(text: str) -> time:
    hour, minute = text.strip().split(":")
    return time(int(hour), int(minute))


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
    """A BackgroundScheduler running `job` one at a time; the caller's thread watches and renders."""

    def __init__(self, job: Callable[[], None], interval_s: float, window: Window | None = None):
        from apscheduler.schedulers.background import BackgroundScheduler

        self.job, self.interval_s, self.window = job, interval_s, window
        self.scheduler = BackgroundScheduler(job_defaults={
            "max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE_S})

    def next_run(self, after: datetime | None = None) -> datetime:
        moment = after or datetime.now()
        return self.window.next_open(moment) if self.window else moment

    def start(self) -> datetime:
        first = self.next_run()
        self.scheduler.add_job(self._run, "date", run_date=first, id="iteration", max_instances=1, coalesce=True,
                               misfire_grace_time=MISFIRE_GRACE_S, replace_existing=True)
        self.scheduler.start()
        return first

    def _run(self) -> None:
        self.job()

    def rearm(self) -> datetime:
        """Schedule the next iteration `interval_s` from now (or at the window's next opening)."""
        when = self.next_run(datetime.now() + timedelta(seconds=self.interval_s))
        self.scheduler.add_job(self._run, "date", run_date=when, id="iteration", max_instances=1, coalesce=True,
                               misfire_grace_time=MISFIRE_GRACE_S, replace_existing=True)
        return when

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
