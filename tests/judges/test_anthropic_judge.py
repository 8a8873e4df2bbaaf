"""The official judge with the real `anthropic` client against the scripted server on 127.0.0.1."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from loop.config import Config
from loop.judges import make_judge
from loop.judges.anthropic_judge import AnthropicJudge, cached_prefix_share
from tests.support import Reply, ScriptedAnthropicServer, text_reply
from ruler.scoring import summarize

DIMS = {"atomicity": 5, "specificity": 4, "coverage": 3, "naturalness": 5, "non_redundancy": 4}


def kind_of(body: dict) -> str:
    text = body["messages"][0]["content"]
    return "rubric" if "Do three things" in text else "verdict"


def set_a_title(body: dict) -> str:
    return re.search(r"Set A:\nTitle: (.*)", body["messages"][0]["content"]).group(1)


def rubric(verdict: str, **extra) -> Reply:
    payload = {"reasoning": "r1", "dims": dict(DIMS), "failure_notes": "no question about timing", "verdict": verdict}
    payload.update(extra)
    return text_reply(json.dumps(payload))


def verdict_only(verdict: str) -> Reply:
    return text_reply(json.dumps({"reasoning": "r2", "verdict": verdict}))


def make(server: ScriptedAnthropicServer, **overrides) -> AnthropicJudge:
    settings = {"judge": "anthropic", "anthropic_base_url": server.base_url, "judge_max_retries": 3,
                "judge_timeout_s": 5.0, **overrides}
    return AnthropicJudge(Config(**settings), backoff_base_s=0.001, backoff_max_s=0.01)


def scripted(rubric_verdict: str, swapped_verdict: str):
    return lambda body: rubric(rubric_verdict) if kind_of(body) == "rubric" else verdict_only(swapped_verdict)


def test_structured_verdicts_parsed_and_requests_shaped(case, good):
    with ScriptedAnthropicServer(scripted("A", "B")) as server, make(server) as judge:
        judgement = judge.judge(case, good)
        bodies = server.requests
    assert judgement.error is None
    assert judgement.verdict_candidate_first == judgement.verdict_gold_first == judgement.verdict == "candidate"
    assert judgement.dims.model_dump() == DIMS
    assert judgement.failure_notes == "no question about timing"
    assert "r1" in judgement.reasoning and "r2" in judgement.reasoning
    assert judgement.judge_calls == 2 and judge.judge_calls == 2
    by_kind = {kind_of(b): b for b in bodies}
    assert set_a_title(by_kind["rubric"]) == good.title  # candidate shown first with the rubric
    assert set_a_title(by_kind["verdict"]) == case.gold.title  # gold first in the swapped call
    for body in bodies:
        assert body["model"] == "claude-sonnet-4-6" and "temperature" not in body  # this SDK has no sampling knobs
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert "five dimensions" in body["system"][0]["text"] and "FROZEN" not in body["system"][0]["text"]
        schema = body["output_config"]["format"]
        assert schema["type"] == "json_schema" and schema["schema"]["additionalProperties"] is False
    assert "dims" in by_kind["rubric"]["output_config"]["format"]["schema"]["properties"]
    assert "dims" not in by_kind["verdict"]["output_config"]["format"]["schema"]["properties"]
    assert by_kind["rubric"]["system"] == by_kind["verdict"]["system"]  # one shared cacheable prefix


def test_order_swapped_verdicts_that_disagree_become_a_tie(case, good):
    # both calls prefer whichever set is shown first: position bias -> tie
    with ScriptedAnthropicServer(scripted("A", "A")) as server, make(server) as judge:
        judgement = judge.judge(case, good)
    assert (judgement.verdict_candidate_first, judgement.verdict_gold_first) == ("candidate", "gold")
    assert judgement.verdict == "tie"


def test_gold_better_in_both_orders_is_a_loss(case, good):
    with ScriptedAnthropicServer(scripted("B", "A")) as server, make(server) as judge:
        assert judge.judge(case, good).verdict == "gold"


def test_429_and_500_are_retried_then_succeed(case, good):
    seen: dict[str, int] = {"rubric": 0, "verdict": 0}
    lock = threading.Lock()

    def handler(body: dict) -> Reply:
        kind = kind_of(body)
        with lock:
            seen[kind] += 1
            n = seen[kind]
        if n == 1:
            return Reply(status=429, error_type="rate_limit_error", headers={"retry-after": "0"})
        if n == 2:
            return Reply(status=500 if kind == "rubric" else 529, error_type="overloaded_error")
        return rubric("tie") if kind == "rubric" else verdict_only("tie")

    with ScriptedAnthropicServer(handler) as server, make(server) as judge:
        judgement = judge.judge(case, good)
    assert judgement.error is None and judgement.verdict == "tie"
    assert seen == {"rubric": 3, "verdict": 3}
    assert judgement.judge_calls == 6 and judge.retries == 4


def test_timeout_is_retried(case, good):
    calls = {"n": 0}
    lock = threading.Lock()

    def handler(body: dict) -> Reply:
        with lock:
            calls["n"] += 1
            first = calls["n"] == 1
        reply = rubric("A") if kind_of(body) == "rubric" else verdict_only("B")
        reply.hang_s = 3.0 if first else 0.0
        return reply

    with ScriptedAnthropicServer(handler) as server, make(server, judge_timeout_s=0.3) as judge:
        judgement = judge.judge(case, good)
    assert judgement.error is None and judgement.verdict == "candidate"
    assert judgement.judge_calls == 3


def test_malformed_reply_once_is_retried(case, good):
    state = {"bad_left": 1}
    lock = threading.Lock()

    def handler(body: dict) -> Reply:
        if kind_of(body) == "verdict":
            return verdict_only("tie")
        with lock:
            bad, state["bad_left"] = state["bad_left"] > 0, state["bad_left"] - 1
        return text_reply('{"reasoning": "cut off') if bad else rubric("tie")

    with ScriptedAnthropicServer(handler) as server, make(server) as judge:
        judgement = judge.judge(case, good)
    assert judgement.error is None and judgement.judge_calls == 3


@pytest.mark.parametrize(
    "bad_reply",
    [
        text_reply("I think Set A is better."),  # not JSON
        rubric("A", dims={**DIMS, "coverage": 9}),  # out of range
        rubric("maybe"),  # not a verdict
        text_reply(json.dumps({"verdict": "A"}), stop_reason="max_tokens"),  # truncated
    ],
)
def test_persistently_malformed_reply_is_a_judge_error(case, good, bad_reply):
    def handler(body: dict) -> Reply:
        return bad_reply if kind_of(body) == "rubric" else verdict_only("A")

    with ScriptedAnthropicServer(handler) as server, make(server, judge_max_retries=2) as judge:
        judgement = judge.judge(case, good)
    assert judgement.error and "malformed reply" in judgement.error
    assert judgement.dims is None and judgement.verdict is None
    assert judgement.judge_calls == 3 + 1
    summary = summarize([judgement])
    assert summary.judge_errors == 1 and summary.scored_cases == 0


def test_bad_request_is_not_retried(case, good):
    with ScriptedAnthropicServer(lambda body: Reply(status=400, error_type="invalid_request_error")) as server:
        with make(server) as judge:
            judgement = judge.judge(case, good)
    assert judgement.error and "HTTP 400" in judgement.error
    assert judgement.judge_calls == 2  # one per order, no retries


def test_dead_server_is_a_judge_error_not_an_exception(case, good):
    server = ScriptedAnthropicServer(scripted("A", "B"))
    server.stop()
    with make(server, judge_max_retries=1) as judge:
        judgement = judge.judge(case, good)
    assert judgement.error and "APIConnectionError" in judgement.error


def test_sixteen_threads_at_once(case, good, unrelated):
    def handler(body: dict) -> Reply:
        text = body["messages"][0]["content"]
        candidate_good = good.title in text
        if kind_of(body) == "rubric":
            return rubric("A" if candidate_good else "B")
        return verdict_only("B" if candidate_good else "A")

    with ScriptedAnthropicServer(handler, delay_s=0.02) as server, make(server, judge_concurrency=16) as judge:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda i: judge.judge(case, good if i % 2 else unrelated), range(32)))
        assert len(server.requests) == 64
    assert [r.verdict for r in results] == ["gold", "candidate"] * 16
    assert judge.judge_calls == 64 and judge.retries == 0


def test_coverage_blind_mode(case, good):
    def handler(body: dict) -> Reply:
        if kind_of(body) == "verdict":
            return verdict_only("tie")
        dims = {k: v for k, v in DIMS.items() if k != "coverage"}
        return text_reply(json.dumps({"reasoning": "r", "dims": dims, "failure_notes": "", "verdict": "tie"}))

    with ScriptedAnthropicServer(handler) as server, make(server, judge_mode="coverage-blind") as judge:
        assert judge.judge_id == f"anthropic:claude-sonnet-4-6:coverage-blind@{judge.endpoint}"
        assert judge.endpoint.startswith("http://127.0.0.1:")
        judgement = judge.judge(case, good)
        rubric_body = next(b for b in server.requests if kind_of(b) == "rubric")
    assert judgement.error is None and judgement.verdict == "tie"
    assert "coverage" not in rubric_body["output_config"]["format"]["schema"]["$defs"]["BlindDims"]["properties"]
    assert "## coverage" not in rubric_body["system"][0]["text"]
    assert "coverage is out of scope" in rubric_body["system"][0]["text"]


def test_make_judge_official_id():
    judge = make_judge(Config(judge="anthropic", anthropic_base_url="http://127.0.0.1:9"))
    try:
        assert judge.judge_id == "anthropic:claude-sonnet-4-6@http://127.0.0.1:9" and judge.mode == "standard"
    finally:
        judge.close()


def test_the_judge_id_names_the_endpoint():
    from loop.judges.anthropic_judge import endpoint_name

    assert endpoint_name(None) == endpoint_name("https://api.anthropic.com/") == "api.anthropic.com"
    assert endpoint_name("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080/v1"
    cloud = make_judge(Config(judge="anthropic", anthropic_base_url="https://api.anthropic.com"))
    other = make_judge(Config(judge="anthropic", anthropic_base_url="https://llm.example.org"))
    try:
        assert cloud.judge_id == "anthropic:claude-sonnet-4-6"
        assert other.judge_id == "anthropic:claude-sonnet-4-6@https://llm.example.org" != cloud.judge_id
    finally:
        cloud.close()
        other.close()


def test_cached_prefix_share_of_a_real_request(case, good):
    with ScriptedAnthropicServer(scripted("A", "B")) as server, make(server) as judge:
        judge.judge(case, good)
        bodies = server.requests
    for body in bodies:
        system = len(body["system"][0]["text"])
        user = len(body["messages"][0]["content"])
        assert cached_prefix_share(body) == pytest.approx(system / (system + user))
        assert 0.7 < cached_prefix_share(body) < 1.0


def test_cached_prefix_share_rules():
    plain = {"system": "s" * 30, "messages": [{"role": "user", "content": "u" * 70}]}
    assert cached_prefix_share(plain) == 0.0
    assert cached_prefix_share({**plain, "cache_control": {"type": "ephemeral"}}) == 1.0
    assert cached_prefix_share({"messages": []}) == 0.0
    marked_late = {
        "system": [{"type": "text", "text": "s" * 30}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "a" * 20, "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "b" * 50},
        ],
    }
    assert cached_prefix_share(marked_late) == pytest.approx(50 / 100)  # the marked block caches its prefix


def test_each_case_carries_its_tokens_and_dollars_retries_included(case, good):
    """A malformed first rubric reply is retried: the case's usage counts all three replies, priced by
    the one table (claude-sonnet-4-6: $3 in, $15 out, cache reads 0.1 x, cache writes 1.25 x input)."""
    usage = {"input_tokens": 700, "output_tokens": 90, "cache_read_input_tokens": 1500,
             "cache_creation_input_tokens": 400}
    seen = {"rubric": 0}

    def handler(body):
        if kind_of(body) == "rubric":
            seen["rubric"] += 1
            if seen["rubric"] == 1:
                return text_reply("not json at all", usage=usage)
            return text_reply(rubric("A").content[0]["text"], usage=usage)
        return text_reply(verdict_only("B").content[0]["text"], usage=usage)

    with ScriptedAnthropicServer(handler) as server, make(server) as judge:
        judgement = judge.judge(case, good)
    assert judgement.error is None and judgement.judge_calls == 3
    u = judgement.usage
    assert (u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_creation_tokens) == (2100, 270, 4500, 1200)
    per_reply = (700 * 3.0 + 90 * 15.0 + 1500 * 0.3 + 400 * 3.75) / 1e6
    assert u.cost_usd == pytest.approx(3 * per_reply)
