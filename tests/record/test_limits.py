"""Shared limits in the record, on SQLite and PostgreSQL: three workers with a shared judge
concurrency of 2 never have more than 2 judge calls in flight between them (without the shared slots
they do), a dead worker's slot is freed by its lease, and the budget spent across workers never
exceeds the total."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from loop.config import load_config
from loop.daemon.judge_slots import JudgeSlots, SharedJudge
from loop.daemon.shared_budget import SharedBudget
from loop.daemon.workers import WorkerIdentity
from loop.db.models import JudgeSlot, Worker, utcnow
from loop.db.session import session_scope, upgrade
from tests.support.limit_fakes import InFlightJudge

WORKERS, CALLS_EACH = 3, 12


@pytest.fixture
def config(record_url: str, tmp_path: Path):
    config = load_config(tmp_path, database_url=record_url, judge_concurrency=2, budget_usd=5.0, worker_lease_s=30)
    upgrade(config)
    return config


def _judge_from_three_workers(judges: list) -> None:
    """Each worker judges CALLS_EACH cases on its own pool of judge_concurrency (2) threads, all at once."""
    def work(judge) -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda n: judge.judge(None, None), range(CALLS_EACH)))

    threads = [threading.Thread(target=work, args=(j,)) for j in judges]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)


def test_three_workers_never_judge_more_than_the_shared_concurrency(config):
    fake = InFlightJudge(latency_s=0.05)
    judges = [SharedJudge(fake, JudgeSlots(config, f"w{i}")) for i in range(WORKERS)]
    _judge_from_three_workers(judges)
    assert fake.calls == WORKERS * CALLS_EACH
    assert fake.peak == 2  # never more than the shared limit, and the limit is used
    with session_scope(config) as db:  # every slot free again
        assert [s.holder for s in db.query(JudgeSlot).order_by(JudgeSlot.slot)] == [None, None]


def test_without_shared_slots_three_workers_exceed_the_limit(config):
    fake = InFlightJudge(latency_s=0.05)
    _judge_from_three_workers([fake] * WORKERS)  # each worker's own pool of 2 only
    assert fake.peak > 2


def test_a_dead_workers_slot_is_free_once_its_lease_ran_out(config):
    dead, live = JudgeSlots(config, "dead"), JudgeSlots(config, "live")
    assert {dead.try_claim(), dead.try_claim()} == {0, 1}  # "dead" holds both, then dies
    assert live.try_claim() is None
    with session_scope(config) as db:
        db.execute(update(JudgeSlot).where(JudgeSlot.slot == 1).values(held_until=utcnow() - timedelta(seconds=1)))
    assert live.try_claim() == 1 and live.try_claim() is None


def _live(config, name: str) -> WorkerIdentity:
    me = WorkerIdentity(name, "test-host", 10_000 + int(name[1:]))
    with session_scope(config) as db:
        db.add(Worker(name=name, host="elsewhere", pid=me.pid))  # another host: live by its heartbeat
    return me


def test_the_budget_spent_across_workers_never_exceeds_the_total(config):
    budgets = [SharedBudget(config, _live(config, f"w{i}")) for i in range(WORKERS)]
    for b in budgets:
        assert b.open() == 0.0  # the first opens the night's ledger, the others join it
    spent: list[float] = []
    lock = threading.Lock()

    def night(budget: SharedBudget) -> None:
        while budget.reserve().granted:
            cost = 0.7  # one experiment's agent + judge dollars
            with lock:
                spent.append(cost)
            budget.settle(cost)

    threads = [threading.Thread(target=night, args=(b,)) for b in budgets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    total = budgets[0].spent()
    assert total == pytest.approx(sum(spent)) and total <= config.budget_usd
    assert len(spent) == 7  # 7 x 0.7 = 4.90: the eighth would pass the total, whichever worker asks
    refused = budgets[1].reserve()
    assert not refused.granted and "across workers" in refused.message



def test_an_experiment_reserved_before_any_settled_counts_at_the_estimate_learnt_since(config):
    """The race the threaded test above can hit: w0 reserves first (estimate $0, nothing settled yet) and
    is slow; the others learn the cost ($0.70) and go on. w0's running experiment must count as $0.70,
    or the night ends at 8 x 0.70 = $5.60 on a $5 total."""
    slow, *others = [SharedBudget(config, _live(config, f"w{i}")) for i in range(WORKERS)]
    for b in (slow, *others):
        b.open()
    first = slow.reserve()
    assert first.granted and first.estimate_usd == 0.0
    started = 1
    for budget in itertools.cycle(others):
        if not budget.reserve().granted:
            break
        started += 1
        budget.settle(0.7)
    slow.settle(0.7)
    assert started == 7 and slow.spent() == pytest.approx(4.9) and slow.spent() <= config.budget_usd

def test_a_worker_starting_alone_opens_a_new_night(config):
    first = SharedBudget(config, _live(config, "w1"))
    first.open()
    first.reserve()
    first.settle(4.0)
    with session_scope(config) as db:  # w1 stopped cleanly
        db.execute(update(Worker).where(Worker.name == "w1").values(stopped_at=utcnow()))
    joiner = SharedBudget(config, _live(config, "w2"))
    assert joiner.open() == 0.0 and joiner.reserve().granted
