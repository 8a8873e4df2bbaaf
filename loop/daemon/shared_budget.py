"""One dollar budget for every worker on a record (`budget_usd`, agent + judge dollars), checked before
spending: a worker reserves its next experiment before starting it, and settles what it spent after.

- The ledger (`budget_ledger`, one row per research branch) is opened by the first worker of a night:
  a worker that starts while no other worker is live resets it (spent 0, limit its `budget_usd`); one
  that joins live workers shares their total.
- `reserve()`: under the ledger row's lock (an UPDATE first: a row lock on PostgreSQL, the writer lock
  on SQLite, so two workers' checks never interleave) the experiment may start only when
  `spent + other workers' holds + estimate <= limit`, the estimate being the dearest experiment
  settled so far (0 before the first: the first experiments of a night are not bounded in advance,
  as a single worker's never were). It then holds the estimate until `settle`; other workers' holds
  count at the current estimate (an experiment reserved at $0 before the first one settled is as dear
  as the others once one has), so a slow first experiment cannot carry the night past its total.
- `settle(usd)`: adds the dollars, updates the dearest experiment, drops the hold. A dead worker's hold
  stops counting when its lease runs out (the heartbeat renews it, `renew`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from loop.config import Config
from loop.daemon.workers import WorkerIdentity, is_live
from loop.db.models import BudgetHold, BudgetLedger, Worker, utcnow
from loop.db.session import session_scope


@dataclass(frozen=True)
class Reservation:
    granted: bool
    spent_usd: float  # the ledger's total when asked
    held_usd: float  # other workers' holds when asked
    estimate_usd: float
    limit_usd: float

    @property
    def message(self) -> str:
        return (f"budget spent: ${self.spent_usd:.2f} of ${self.limit_usd:.2f} across workers "
                f"(${self.held_usd:.2f} held by running experiments, the next one reserves ${self.estimate_usd:.2f})")


class SharedBudget:
    def __init__(self, config: Config, me: WorkerIdentity):
        self.config, self.me, self.name = config, me, config.research_branch

    def _lock(self, db) -> BudgetLedger | None:
        """The ledger row, locked for this transaction (None when it does not exist yet)."""
        db.execute(update(BudgetLedger).where(BudgetLedger.name == self.name).values(touched_at=utcnow()))
        return db.get(BudgetLedger, self.name)

    def open(self) -> float:
        """Join the night's ledger, or open a new one when no other worker is live; its spent dollars."""
        for _ in range(5):
            try:
                return self._open()
            except IntegrityError:  # another worker created the ledger first: join it
                continue
        return self._open()

    def _open(self) -> float:
        now = utcnow()
        with session_scope(self.config) as db:
            ledger = self._lock(db)
            others = [w for w in db.scalars(select(Worker).where(Worker.name != self.me.name))
                      if is_live(w, self.me, now, self.config.worker_lease_s)]
            if ledger is None:
                ledger = BudgetLedger(name=self.name, limit_usd=self.config.budget_usd, spent_usd=0.0,
                                      largest_usd=0.0, opened_at=now, touched_at=now)
                db.add(ledger)
            elif not others:  # a new night: nobody is sharing the old total
                ledger.limit_usd, ledger.spent_usd, ledger.largest_usd, ledger.opened_at = (
                    self.config.budget_usd, 0.0, 0.0, now)
                db.execute(delete(BudgetHold).where(BudgetHold.ledger == self.name))
            return ledger.spent_usd

    def reserve(self) -> Reservation:
        now = utcnow()
        with session_scope(self.config) as db:
            ledger = self._lock(db)
            estimate = ledger.largest_usd
            # another worker's running experiment is held at today's estimate, not at the one it reserved
            # with: one reserved at $0 (before any experiment had settled) costs as much as any other
            held = sum(max(usd, estimate) for usd in db.scalars(select(BudgetHold.usd).where(
                BudgetHold.ledger == self.name, BudgetHold.worker != self.me.name, BudgetHold.held_until > now)))
            granted = ledger.spent_usd + held + estimate <= ledger.limit_usd
            if granted:
                db.execute(delete(BudgetHold).where(BudgetHold.worker == self.me.name))
                db.add(BudgetHold(worker=self.me.name, ledger=self.name, usd=estimate, held_until=now + timedelta(
                    seconds=self.config.worker_lease_s)))
            return Reservation(granted, ledger.spent_usd, float(held), estimate, ledger.limit_usd)

    def settle(self, usd: float) -> float:
        """Add one experiment's dollars; the ledger's new total."""
        with session_scope(self.config) as db:
            ledger = self._lock(db)
            ledger.spent_usd += usd
            ledger.largest_usd = max(ledger.largest_usd, usd)
            db.execute(delete(BudgetHold).where(BudgetHold.worker == self.me.name))
            return ledger.spent_usd

    def spent(self) -> float:
        with session_scope(self.config) as db:
            ledger = db.get(BudgetLedger, self.name)
            return ledger.spent_usd if ledger else 0.0


def renew(db, worker: str, until: datetime) -> int:
    return db.execute(update(BudgetHold).where(BudgetHold.worker == worker).values(held_until=until)).rowcount or 0
