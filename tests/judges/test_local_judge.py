"""The local LLM judge: the frozen prompts through llama.cpp with schema-constrained replies, both
orders, the official judge's retry and error rules. The mechanics run for real on SmolLM2 (the test
model `make test` fetches); the retry rules are checked against a scripted runner so each rule is
exercised exactly."""

from __future__ import annotations

import json

import pytest

from loop.config import load_config
from loop.judges import make_judge
from loop.judges.local_judge import LocalJudge, reply_schema
from loop.judges.replies import RubricReply, VerdictReply
from loop.runners.client import RunnerError
from loop.runners.protocol import Backend, ProtocolError, Response
from tests.support.judge_ladders import ladders

RUBRIC = {"reasoning": "fine", "dims": {"atomicity": 5, "specificity": 4, "coverage": 3, "naturalness": 5,
                                        "non_redundancy": 4}, "failure_notes": "misses the budget", "verdict": "B"}
VERDICT = {"reasoning": "gold asks more", "verdict": "A"}


class ScriptedRunner:
    """Answers each request with the next scripted item: a dict (the reply JSON), a str (raw text),
    a ProtocolError (an error response) or a RunnerError (raised)."""

    def __init__(self, *script):
        self.script = list(script)
        self.requests = []

    def call(self, request):
        self.requests.append(request)
        item = self.script.pop(0)
        backend = Backend(name="llama", model="scripted")
        if isinstance(item, RunnerError):
            raise item
        if isinstance(item, ProtocolError):
            return Response(id=request.id, ok=False, backend=backend, error=item)
        text = item if isinstance(item, str) else json.dumps(item)
        return Response(id=request.id, ok=True, text=text, backend=backend)

    def close(self):
        pass


@pytest.fixture
def config(project_copy, monkeypatch):
    monkeypatch.delenv("AUTORESEARCH_JUDGE", raising=False)
    return load_config(project_copy, judge="local", local_judge_model="smollm2", judge_max_retries=2)


def one_case():
    ladder = ladders()[0]
    return ladder.case, ladder.sets["generic"]


def test_both_orders_map_back_and_combine(config):
    runner = ScriptedRunner(RUBRIC, VERDICT)
    case, candidate = one_case()
    j = LocalJudge(config, client=runner).judge(case, candidate)
    assert (j.verdict_candidate_first, j.verdict_gold_first, j.verdict) == ("gold", "gold", "gold")
    assert j.dims.coverage == 3 and j.failure_notes == "misses the budget" and j.judge_calls == 2
    first, second = runner.requests
    assert first.prompt.index(candidate.questions[0]) < first.prompt.index(case.gold.questions[0])  # candidate is Set A
    assert second.prompt.index(case.gold.questions[0]) < second.prompt.index(candidate.questions[0])  # gold is Set A
    assert first.output.kind == "json_schema" and first.output.schema_ == reply_schema(RubricReply)
    assert second.output.schema_ == reply_schema(VerdictReply)
    assert first.sampling.mode == "greedy"


def test_malformed_replies_are_retried_with_seeded_sampling_then_an_error(config):
    runner = ScriptedRunner("not json", {"verdict": "maybe"}, RUBRIC, "{", "{", "{")
    case, candidate = one_case()
    j = LocalJudge(config, client=runner).judge(case, candidate)
    assert j.error is not None and j.dims is None and j.verdict is None
    assert "gold-first: malformed reply" in j.error and "after 3 attempt(s)" in j.error
    assert "candidate-first" not in j.error  # the rubric request succeeded on its third attempt
    assert j.judge_calls == 6
    assert [r.sampling.seed for r in runner.requests[:3]] == [None, 1, 2]


def test_runner_errors_follow_the_official_rules(config):
    case, candidate = one_case()
    timeout = ProtocolError(code="timeout", message="slow", retryable=True)
    overflow = ProtocolError(code="context_overflow", message="too long")
    runner = ScriptedRunner(timeout, RUBRIC, overflow)
    j = LocalJudge(config, client=runner).judge(case, candidate)
    assert j.error == "gold-first: runner context_overflow: too long"  # fails at once, no retry
    assert j.judge_calls == 3
    dead = ScriptedRunner(RunnerError("runner_died", "gone twice", retryable=True), RUBRIC, VERDICT)
    assert LocalJudge(config, client=dead).judge(case, candidate).verdict == "gold"


def test_unknown_model_is_refused_and_the_id_names_the_model(config):
    with pytest.raises(ValueError, match="not in the model registry"):
        LocalJudge(config.model_copy(update={"local_judge_model": "gpt-9"}))
    judge = make_judge(config)
    assert judge.judge_id.startswith("local:smollm2@b179c9523d0e")


def test_smollm2_gives_structured_replies_in_both_orders(config):
    """Real llama.cpp, real frozen prompts: the grammar makes every reply parse (slow on two cores)."""
    case, candidate = one_case()
    with make_judge(config.model_copy(update={"judge_max_retries": 1, "local_judge_max_tokens": 400})) as judge:
        j = judge.judge(case, candidate)
    assert j.error is None, j.error
    assert j.verdict_candidate_first in ("candidate", "tie", "gold") and j.verdict_gold_first in ("candidate", "tie", "gold")
    assert all(1 <= v <= 5 for v in j.dims.model_dump().values())
    assert j.reasoning.startswith("[candidate first] ") and "\n[gold first] " in j.reasoning
    assert j.judge_calls >= 2
