"""The record stays bounded over many nights: LRU cache eviction, trace compaction, VACUUM on growth."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from loop.db.maintenance import maintain
from loop.db.models import (CaseResult, Evaluation, Experiment, GenerationCacheEntry, Ruler, VerdictCacheEntry)
from loop.db.session import session_scope
from loop.eval_cache import EvalCache, evict_caches
from loop.schemas import Answer, CaseJudgement

ANSWER = Answer(title="t", questions=[f"q{i}?" for i in range(7)])


def _keys(config, table) -> set[str]:
    with session_scope(config) as db:
        return set(db.scalars(select(table.key)))


def test_least_recently_used_entries_are_evicted_past_the_size(research_config):
    cache = EvalCache(research_config.db_url)
    judgement = CaseJudgement(dims=None, verdict_candidate_first="tie", verdict_gold_first="tie", verdict="tie")
    for i in range(5):
        cache.put_verdict(f"v{i}", judgement)
        cache.put_generation(f"g{i}", ANSWER, None, [])
        time.sleep(0.002)
    assert cache.get_verdict("v0") is not None and cache.get_generation("g1") is not None  # used again: recent
    evicted = evict_caches(research_config.db_url, max_generations=2, max_verdicts=3)
    assert evicted == {"generations": 3, "verdicts": 2}
    assert _keys(research_config, VerdictCacheEntry) == {"v0", "v3", "v4"}
    assert _keys(research_config, GenerationCacheEntry) == {"g1", "g4"}
    assert evict_caches(research_config.db_url, 2, 3) == {"generations": 0, "verdicts": 0}


def _experiment_with_trace(db, number: int, status: str, finished: datetime) -> None:
    db.add(Experiment(number=number, status=status, step="done", finished_at=finished, trace_svg="<svg/>"))
    evaluation = Evaluation(experiment_number=number, gate="dev", ruler_id="r" * 64, judge_id="j",
                            workspace_hash="w")
    evaluation.cases.append(CaseResult(case_id="c1", task="task", trace=[
        {"kind": "model", "step": "answer", "latency_ms": 12.5, "prompt": "p" * 500, "reply": "r" * 500}]))
    db.add(evaluation)


def test_traces_of_old_discarded_experiments_are_compacted_and_nothing_else(research_config):
    now = datetime.now(timezone.utc)
    old, recent = now - timedelta(days=30), now - timedelta(days=1)
    with session_scope(research_config) as db:
        db.add(Ruler(id="r" * 64, judge_id="j", files={}))
        _experiment_with_trace(db, 0, "discarded", old)
        _experiment_with_trace(db, 1, "kept", old)
        _experiment_with_trace(db, 2, "discarded", recent)
    report = maintain(research_config.model_copy(update={"trace_retention_days": 14}), now=now)
    assert report.traces_compacted == 1
    with session_scope(research_config) as db:
        traces = {r.evaluation.experiment_number: r.trace for r in db.scalars(select(CaseResult))}
        svgs = {e.number: e.trace_svg for e in db.scalars(select(Experiment))}
    assert traces[0] == [{"kind": "model", "step": "answer", "latency_ms": 12.5, "compacted": True}]
    assert "prompt" in traces[1][0] and "prompt" in traces[2][0]  # kept and recent ones keep everything
    assert svgs == {0: None, 1: "<svg/>", 2: "<svg/>"}
    assert maintain(research_config, now=now).traces_compacted == 0  # done once


def test_the_database_is_vacuumed_once_it_grew_by_the_configured_share(research_config):
    config = research_config.model_copy(update={"vacuum_growth": 0.5, "verdict_cache_max": 10})
    assert maintain(config).vacuumed is None  # the first pass only measures
    cache = EvalCache(config.db_url)
    judgement = CaseJudgement(dims=None, verdict_candidate_first="tie", verdict_gold_first="tie", verdict="tie",
                              failure_notes="x" * 4000)
    for i in range(400):
        cache.put_verdict(f"v{i}", judgement)
    report = maintain(config)  # evicts 390 verdicts, then the grown file is vacuumed
    assert report.evicted["verdicts"] == 390
    assert report.vacuumed is not None
    before, after = report.vacuumed
    assert after < before / 2
    with session_scope(config) as db:
        assert db.scalar(select(func.count()).select_from(VerdictCacheEntry)) == 10
    assert maintain(config).vacuumed is None  # not grown since
