"""A judge error is never a score: only the failed cases are judged again, a failed judging is never
cached, and judging that stays incomplete records nothing. Against the scripted Anthropic-compatible
server as the judge (shipped workspace, real sandbox, replay runner)."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from loop.config import load_config
from loop.db.models import Evaluation
from loop.db.session import session_scope
from loop.errors import JudgeUnavailable
from loop.evaluate import evaluate
from loop.ruler_files import gate_cases
from tests.support.anthropic_server import Reply, ScriptedAnthropicServer, text_reply

TASK = re.compile(r"^Task: (.+)$", re.M)
FAIR = {"reasoning": "scripted", "verdict": "tie"}
DIMS = dict.fromkeys(("atomicity", "specificity", "coverage", "naturalness", "non_redundancy"), 3)


class FlakyJudge:
    """Fair verdicts, except a 500 for the tasks in `failing` (on their first `fail_rounds` draws)."""

    def __init__(self, failing: set[str], fail_rounds: int | None = 1):
        self.failing, self.fail_rounds = failing, fail_rounds
        self.requests, self.lock = Counter(), threading.Lock()

    def __call__(self, body: dict) -> Reply:
        task = TASK.search(body["messages"][0]["content"]).group(1).strip()
        rubric = "dims" in json.dumps(body["output_config"]["format"]["schema"])
        with self.lock:
            self.requests[task] += 1
            draw = self.requests[task]
        if task in self.failing and (self.fail_rounds is None or draw <= 2 * self.fail_rounds):
            return Reply(status=500, error_type="api_error", error_message="scripted outage")
        return text_reply(json.dumps({**FAIR, "dims": DIMS, "failure_notes": "none"} if rubric else FAIR))


def judge_config(eval_config, server, **overrides):
    settings = dict(database_url=eval_config.database_url, judge="anthropic", runner="replay",
                    anthropic_base_url=server.base_url, judge_max_retries=0, judge_concurrency=4,
                    judge_case_retries=2, judge_case_backoff_s=0.01)
    settings.update(overrides)
    return load_config(eval_config.repo, **settings)


def evaluations(config) -> int:
    with session_scope(config) as db:
        return db.scalar(select(func.count()).select_from(Evaluation))


def test_a_partial_judge_failure_retries_only_the_failed_cases(eval_config):
    dev = [c.task for c in gate_cases(eval_config.ruler_dir, "dev")]
    failing = set(dev[:2])
    handler = FlakyJudge(failing, fail_rounds=1)
    with ScriptedAnthropicServer(handler) as server:
        config = judge_config(eval_config, server)
        report = evaluate(config, "dev", progress=False)
    assert {t: handler.requests[t] for t in failing} == dict.fromkeys(failing, 4)  # judged twice: 2 requests each
    assert all(handler.requests[t] == 2 for t in dev if t not in failing)  # the rest judged once
    assert sum(handler.requests.values()) == 2 * len(dev) + 2 * len(failing)
    assert report.summary.judge_errors == 0 and report.summary.scored_cases == len(dev)
    assert report.summary.quality == pytest.approx(0.5)
    assert report.judge_calls == 2 * len(dev) + 2 * len(failing)
    assert report.evaluation_id is not None and evaluations(config) == 1


def test_judging_that_stays_incomplete_records_nothing_and_caches_no_error(eval_config):
    dev = [c.task for c in gate_cases(eval_config.ruler_dir, "dev")]
    broken = dev[3]
    handler = FlakyJudge({broken}, fail_rounds=None)  # this case never gets judged
    with ScriptedAnthropicServer(handler) as server:
        config = judge_config(eval_config, server)
        with pytest.raises(JudgeUnavailable) as raised:
            evaluate(config, "dev", progress=False)
        assert handler.requests[broken] == 2 * 3  # the first round and 2 retry rounds, both orders each
        assert all(handler.requests[t] == 2 for t in dev if t != broken)
        assert raised.value.case_ids == [c.id for c in gate_cases(config.ruler_dir, "dev") if c.task == broken]
        assert "HTTP 500" in raised.value.last_error and "\n" not in str(raised.value)
        assert evaluations(config) == 0  # no Evaluation row, no quality

        handler.fail_rounds = 0  # the judge answers again: the finished verdicts come from the cache
        before = Counter(handler.requests)
        report = evaluate(config, "dev", progress=False)
    new = handler.requests - before
    assert new == Counter({broken: 2}), new  # only the case whose judging failed is judged now
    assert report.summary.judge_errors == 0 and report.summary.scored_cases == len(dev)
    assert evaluations(config) == 1


def test_a_wait_cap_below_the_first_wait_is_one_clear_error_naming_file_and_line(tmp_path):
    from loop.errors import InputError

    (tmp_path / "autoresearch.toml").write_text("judge = \"proxy\"\njudge_wait_initial_s = 60\njudge_wait_max_s = 10\n")
    with pytest.raises(InputError) as raised:
        load_config(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path / 'autoresearch.toml'}:3: setting `judge_wait_max_s`:")
    assert "at least judge_wait_initial_s (60)" in str(raised.value)
