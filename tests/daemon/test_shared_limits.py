"""The daemon under shared limits (the default): a worker that joins a night whose shared budget other
workers have spent stops before claiming anything, and its judge calls hold the record's judge slots."""

from __future__ import annotations

from sqlalchemy import select

from loop.daemon.judge_slots import SharedJudge
from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import StopKind
from loop.db.models import BudgetLedger, JudgeSlot, Worker, utcnow
from loop.db.session import session_scope

ONCE = RunOptions(once=True, live=False, watch=False, handle_signals=False)


def test_a_worker_joining_a_spent_night_stops_before_claiming(research_repo, h):
    config = h.config_for(research_repo, budget_usd=1.0)
    from loop.db.session import upgrade

    upgrade(config)
    with session_scope(config) as db:  # another worker, live on another host, has spent $0.90 of $1.00
        db.add(Worker(name="other", host="mac-elsewhere", pid=4242))
        db.add(BudgetLedger(name=config.research_branch, limit_usd=1.0, spent_usd=0.9, largest_usd=0.3,
                            opened_at=utcnow(), touched_at=utcnow()))
    summary = Daemon(config, ONCE).run()
    assert summary.stop is not None and summary.stop.kind is StopKind.BUDGET, summary.stop
    assert "budget spent: $0.90 of $1.00 across workers" in summary.stop.message
    assert h.rows(config) == {}  # nothing claimed, nothing spent


def test_the_daemons_judge_calls_hold_the_shared_slots(research_repo, h):
    config = h.config_for(research_repo, judge_concurrency=3)
    resources = Resources(config)
    summary = Daemon(config, ONCE, resources=resources).run()
    assert summary.stop is not None and summary.stop.kind is StopKind.ONCE, summary.stop
    assert isinstance(resources.judge, SharedJudge) and resources.judge.judge_id.startswith("proxy")
    assert resources.judge.slots.claims >= 30  # the baseline's dev gate alone judges 30 cases, each in a slot
    with session_scope(config) as db:  # the three slots exist and every one was given back
        assert [(s.slot, s.holder) for s in db.scalars(select(JudgeSlot).order_by(JudgeSlot.slot))] == [
            (0, None), (1, None), (2, None)]
        assert db.get(BudgetLedger, config.research_branch).spent_usd == sum(
            r.agent_cost_usd + r.judge_cost_usd for r in summary.results)
    assert sorted(h.rows(config)) == [0, 1]
