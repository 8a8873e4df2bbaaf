"""The judge's concurrency shared by every worker on one record: `judge_concurrency` slots in the
`judge_slots` table, one held per judge call in flight (a case's judging, as the harness's own pool
counts them), so N workers never judge more than `judge_concurrency` cases at once between them.

- `JudgeSlots.hold()`: a context manager that claims a free slot (free: no holder, or its lease ran
  out because its holder died) in one UPDATE whose target row comes from
  `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL (racing workers pick different slots; a slot taken
  meanwhile fails the outer WHERE again) and from SQLite's single writer lock there. No slot free: it
  polls with a short, growing pause. The slot is freed on exit; the worker's heartbeat renews the
  lease of slots it holds (`renew`), so a long judge call keeps its slot and a dead worker's expires.
- `SharedJudge`: the judge with every `judge()` call inside a slot; everything else passes through.
- Only slots below a worker's own `judge_concurrency` are used (workers configured alike share
  exactly that many).
"""

from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Iterator

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from loop.config import Config
from loop.db.models import JudgeSlot, utcnow
from loop.db.session import engine_for, session_scope

POLL_START_S, POLL_MAX_S = 0.005, 0.05


def _free(table):
    return (table.slot < bindparam("size")) & or_(table.holder.is_(None), table.held_until < bindparam("now"))


# built once (Core statements with bound parameters: compiled once, cached), run per judge call
_INNER = aliased(JudgeSlot)  # not correlated with the UPDATE's own table
_PICK = (select(_INNER.slot).where(_free(_INNER)).order_by(_INNER.slot).limit(1)
         .with_for_update(skip_locked=True).scalar_subquery())
CLAIM = (update(JudgeSlot.__table__).where(JudgeSlot.slot == _PICK, _free(JudgeSlot))
         .values(holder=bindparam("worker"), held_until=bindparam("until")).returning(JudgeSlot.slot))
RELEASE = (update(JudgeSlot.__table__).where(JudgeSlot.slot == bindparam("number"), JudgeSlot.holder == bindparam("who"))
           .values(holder=None, held_until=None))


class JudgeSlots:
    def __init__(self, config: Config, worker: str):
        self.config, self.worker, self.size = config, worker, config.judge_concurrency
        self.waits = 0  # polls that found every slot taken (for the bench and the log)
        self.claims = 0  # slots this worker held (one per judge call)
        self.engine = engine_for(config.db_url)
        self._one_at_a_time = threading.Lock()  # this worker's threads queue here, not in SQLite's busy handler
        self._ensure()

    def _ensure(self) -> None:
        """Slots 0..size-1 exist (a racing worker's insert of the same slot is fine)."""
        for _ in range(5):
            try:
                with session_scope(self.config) as db:
                    have = set(db.scalars(select(JudgeSlot.slot).where(JudgeSlot.slot < self.size)))
                    db.add_all(JudgeSlot(slot=n) for n in range(self.size) if n not in have)
                return
            except (IntegrityError, OperationalError):
                time.sleep(random.uniform(0, 0.01))
        raise RuntimeError(f"could not create the {self.size} shared judge slots in the record")

    def try_claim(self) -> int | None:
        """A free slot, now held by this worker, or None when all are taken."""
        now = utcnow()
        params = {"size": self.size, "now": now, "worker": self.worker,
                  "until": now + timedelta(seconds=self.config.worker_lease_s)}
        try:
            with self._one_at_a_time, self.engine.begin() as conn:
                slot = conn.execute(CLAIM, params).scalar()
                self.claims += slot is not None
                return slot
        except OperationalError as exc:  # SQLite's writer lock past its timeout: try again
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            return None

    def release(self, slot: int) -> None:
        with self._one_at_a_time, self.engine.begin() as conn:
            conn.execute(RELEASE, {"number": slot, "who": self.worker})

    @contextmanager
    def hold(self) -> Iterator[int]:
        pause = POLL_START_S
        while (slot := self.try_claim()) is None:
            self.waits += 1
            time.sleep(random.uniform(pause / 2, pause))
            pause = min(POLL_MAX_S, pause * 1.5)
        try:
            yield slot
        finally:
            self.release(slot)


def renew(db, worker: str, until: datetime) -> int:
    """Push the leases of the slots `worker` holds to `until` (the heartbeat, in its session)."""
    return db.execute(update(JudgeSlot).where(JudgeSlot.holder == worker).values(held_until=until)).rowcount or 0


class SharedJudge:
    """`judge` with each `judge()` call holding one shared slot; other attributes are the judge's own."""

    def __init__(self, judge, slots: JudgeSlots):
        self._judge, self.slots = judge, slots

    def judge(self, case, candidate):
        with self.slots.hold():
            return self._judge.judge(case, candidate)

    def __getattr__(self, name: str):
        return getattr(self._judge, name)
