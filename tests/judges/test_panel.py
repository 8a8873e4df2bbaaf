"""The panel judge: three model ids on the scripted Anthropic-compatible server (127.0.0.1), aggregated
by majority verdict and mean dimensions, with its own judge id (so its own ruler id)."""

from __future__ import annotations

import json

import pytest

from loop.config import Config
from loop.judges import make_judge
from loop.judges.anthropic_judge import AnthropicJudge
from loop.judges.panel import PanelJudge, majority
from loop.ruler_files import ruler_id
from tests.support import ScriptedAnthropicServer, text_reply

# per model: (rubric verdict with the candidate as A, verdict with gold as A, coverage score)
SCRIPT = {"judge-x": ("A", "B", 5), "judge-y": ("B", "A", 2), "judge-z": ("A", "B", 4)}
DIMS = {"atomicity": 4, "specificity": 3, "naturalness": 5, "non_redundancy": 2}


def reply(body: dict):
    first, swapped, coverage = SCRIPT[body["model"]]
    if "dims" in body["output_config"]["format"]["schema"].get("properties", {}):
        return text_reply(json.dumps({"reasoning": body["model"], "dims": {**DIMS, "coverage": coverage},
                                      "failure_notes": "", "verdict": first}))
    if body["model"] == "judge-broken":
        return text_reply("not json")
    return text_reply(json.dumps({"reasoning": body["model"], "verdict": swapped}))


def panel(server, models, **extra) -> PanelJudge:
    config = Config(judge="panel", anthropic_base_url=server.base_url, judge_max_retries=0, judge_timeout_s=5.0,
                    panel_judge_models=models, **extra)
    members = [AnthropicJudge(config.model_copy(update={"judge_model": m}), backoff_base_s=0.001) for m in models]
    return PanelJudge(config, members=members)


def test_majority_needs_more_than_half():
    assert majority(["candidate", "gold", "candidate"]) == "candidate"
    assert majority(["candidate", "gold", "tie"]) == "tie"
    assert majority(["gold", "gold"]) == "gold"


def test_panel_takes_the_majority_verdict_and_mean_dims(case, good, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-dummy")
    with ScriptedAnthropicServer(reply) as server, panel(server, list(SCRIPT)) as judge:
        j = judge.judge(case, good)
        assert judge.judge_id.startswith("panel:judge-x") and "+judge-y" in judge.judge_id
        assert len(server.requests) == 6  # three members, both orders
    assert j.error is None
    assert j.verdict == "candidate" and j.verdict_candidate_first == "candidate" and j.verdict_gold_first == "candidate"
    assert j.dims.coverage == 4  # mean of 5, 2, 4 = 3.67
    assert j.dims.atomicity == 4 and j.dims.non_redundancy == 2
    assert "[anthropic:judge-y" in j.reasoning and j.judge_calls == 6


def test_a_failed_member_is_an_error_not_a_score(case, good, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-dummy")
    SCRIPT["judge-broken"] = ("A", "B", 3)
    try:
        with ScriptedAnthropicServer(reply) as server, panel(server, ["judge-x", "judge-broken"]) as judge:
            j = judge.judge(case, good)
    finally:
        del SCRIPT["judge-broken"]
    assert j.verdict is None and j.dims is None
    assert "judge-broken" in j.error


def test_the_panel_has_its_own_ruler_id_and_needs_two_models(monkeypatch, project_copy):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-dummy")
    with pytest.raises(ValueError, match="at least two"):
        make_judge(Config(judge="panel", panel_judge_models=["claude-sonnet-4-6"]))
    judge = make_judge(Config(judge="panel", panel_judge_models=["claude-sonnet-4-6", "claude-haiku-4-5"]))
    try:
        assert judge.judge_id == "panel:claude-sonnet-4-6+claude-haiku-4-5"
        single = "anthropic:claude-sonnet-4-6"
        assert ruler_id(project_copy / "ruler", judge.judge_id) != ruler_id(project_copy / "ruler", single)
    finally:
        judge.close()
