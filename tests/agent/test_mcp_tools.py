"""The MCP tool layer without the CLI: argument validation, gold stripping, limits, service failures."""

from __future__ import annotations

import asyncio
import json

from loop.daemon.agents.mcp_tools import ToolSession, build_tools, strip_gold
from loop.daemon.experiments import WorstCase
from loop.schemas import Answer


class Services:
    def __init__(self):
        self.calls = []

    def evaluate(self, gate):
        self.calls.append(gate)
        if gate == "full":
            return {"error": "the full gate is busy"}
        return {"quality": 0.4, "worst_cases": [{"case_id": "t1", "gold_questions": ["secret?"], "failure_notes": "n",
                                                 "reference": {"title": "secret"}}], "gold": "secret"}

    async def record_hypothesis(self, hypothesis, method, lever="inference"):  # async services work too
        self.calls.append(("record", lever))

    def request_manual_training(self, recipe, rationale, evidence):
        raise RuntimeError("record is read-only")

    def experiment_log(self, n=20):
        return f"last {n}"

    def run_task(self, task_id):
        self.calls.append(("run_task", task_id))
        if task_id.startswith("r"):
            return {"error": f"task {task_id!r} is in the frozen ruler"}
        return {"task_id": task_id, "answer": {"title": "Mine", "questions": ["q?"] * 7}, "trace": [{"kind": "model"}],
                "gold": {"title": "secret"}}


def _call(tools, name, args):
    tool = next(t for t in tools if t.name == name)
    return asyncio.run(tool.handler(args))


def test_tools_validate_strip_and_limit() -> None:
    services, session = Services(), ToolSession()
    tools = build_tools(services, session, max_evaluations=1)
    assert {t.name for t in tools} == {"evaluate", "record_hypothesis", "request_manual_training", "experiment_log",
                                       "worst_cases", "run_task"}
    schema = next(t for t in tools if t.name == "evaluate").input_schema
    assert schema["properties"]["gate"]["enum"] == ["dev", "full"]

    bad = _call(tools, "evaluate", {"gate": "holdout"})
    assert bad.get("is_error") and services.calls == []
    ok = _call(tools, "evaluate", {"gate": "dev"})
    text = ok["content"][0]["text"]
    assert "secret" not in text and json.loads(text)["worst_cases"][0]["failure_notes"] == "n"
    assert session.claimed_quality == 0.4
    limited = _call(tools, "evaluate", {"gate": "dev"})
    assert limited.get("is_error") and "limit" in limited["content"][0]["text"] and services.calls == ["dev"]

    refused = _call(build_tools(services, ToolSession()), "evaluate", {"gate": "full"})
    assert refused.get("is_error") and "busy" in refused["content"][0]["text"]

    assert _call(tools, "record_hypothesis", {"hypothesis": "h", "method": "m"}).get("is_error")  # too short
    _call(tools, "record_hypothesis", {"hypothesis": "one change", "method": "edited draft.md", "lever": "sft"})
    assert (session.hypothesis, session.lever) == ("one change", "sft") and services.calls[-1] == ("record", "sft")

    failed = _call(tools, "request_manual_training", {"recipe": "sft", "rationale": "r" * 12, "evidence": "e" * 12})
    assert failed.get("is_error") and "read-only" in failed["content"][0]["text"] and session.request_ids == []
    assert _call(tools, "experiment_log", {"n": 3})["content"][0]["text"] == "last 3"
    assert _call(tools, "experiment_log", {"n": 0}).get("is_error")


def test_strip_gold_at_any_depth() -> None:
    value = {"a": [{"gold": 1, "b": {"expected_answer": 2, "c": 3}}], "Reference": 4}
    assert strip_gold(value) == {"a": [{"b": {"c": 3}}]}


def test_worst_cases_and_run_task_tools() -> None:
    services, session = Services(), ToolSession()
    case = WorstCase(case_id="r03", task="plan a trip", score=0.1, verdict="gold", dims={"coverage": 2},
                     answer=Answer(title="Own", questions=[f"own {i}?" for i in range(7)]), failure_notes="misses dates")
    tools = build_tools(services, session, worst_cases=[case], max_task_runs=1)
    shown = json.loads(_call(tools, "worst_cases", {})["content"][0]["text"])["worst_cases"]
    assert shown == [case.model_dump(mode="json")]
    assert "No worst cases" in _call(build_tools(services, ToolSession()), "worst_cases", {})["content"][0]["text"]
    assert _call(tools, "worst_cases", {"case": "r01"}).get("is_error")  # no arguments taken

    refused = _call(tools, "run_task", {"task_id": "r01"})
    assert refused.get("is_error") and "frozen ruler" in refused["content"][0]["text"] and session.task_runs == 0
    ran = _call(tools, "run_task", {"task_id": "t001"})["content"][0]["text"]
    assert json.loads(ran)["answer"]["title"] == "Mine" and "secret" not in ran and session.task_runs == 1
    limited = _call(tools, "run_task", {"task_id": "t002"})
    assert limited.get("is_error") and "limit" in limited["content"][0]["text"]
    assert services.calls == [("run_task", "r01"), ("run_task", "t001")]
    assert _call(tools, "run_task", {}).get("is_error")
