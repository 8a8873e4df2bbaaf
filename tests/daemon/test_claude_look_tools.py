"""The agent's looking tools with the REAL Claude Code CLI against the scripted Anthropic server: the
scripted model calls `worst_cases` (it gets the incumbent's own answers, dimensions and judge's notes, the
same list its prompt rendered, and no gold), `run_task` on a training-pool task (the workspace's pipeline
runs in the evaluation sandbox with the replay runner: answer and trace come back, the pool's gold does
not), and `run_task` on a ruler task (refused, nothing run)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import claude_agent_sdk
import pytest

from loop.daemon import experiments
from loop.daemon.agents.base import AgentContext
from loop.daemon.agents.claude import ClaudeAgent
from loop.daemon.pool_task import POOL
from loop.daemon.resources import Resources
from loop.daemon.services import DaemonServices
from loop.db.models import Experiment
from loop.db.session import session_scope, upgrade
from loop.ruler_files import load_cases
from loop.supervisor import context as supervisor_context
from tests.support import netns
from tests.support.anthropic_server import ScriptedAnthropicServer
from tests.support.claude_scripts import MCP, scripted_agent_handler
from tests.support.incumbent_record import WORST, note, own_answer, seed_incumbent

BUNDLED_CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
pytestmark = pytest.mark.skipif(not BUNDLED_CLI.exists(), reason="claude-agent-sdk wheel without the bundled CLI")
RID = "f" * 64


def tool_results(body: dict) -> dict[str, dict]:
    """tool_use id -> the tool_result block the CLI sent back for it."""
    return {block["tool_use_id"]: block for m in body.get("messages", []) if m["role"] == "user"
            and isinstance(m["content"], list) for block in m["content"] if block.get("type") == "tool_result"}


def first_json(text: str) -> dict:
    """The JSON document a tool returned (the CLI may append system reminders after it)."""
    return json.JSONDecoder().raw_decode(text.strip())[0]


def result_text(block: dict) -> str:
    content = block.get("content")
    return content if isinstance(content, str) else "".join(c.get("text", "") for c in content or [])


def test_the_agent_sees_worst_cases_and_runs_a_pool_task_but_never_gold(research_repo, h):
    repo = research_repo
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ScriptedAnthropicServer(scripted_agent_handler("look_first")))
        cli_path = netns.bridged_cli(stack, BUNDLED_CLI, server.port)
        config = h.config_for(repo, agent="claude", anthropic_base_url=server.base_url, max_turns=10,
                              max_agent_seconds=120)
        upgrade(config)
        commit = h.git(repo, "rev-parse", "HEAD")
        seed_incumbent(config, commit, RID, "proxy:test")
        with session_scope(config) as db:
            db.add(Experiment(number=1, status="running", parent=0))  # the experiment the agent works on
        incumbent = experiments.incumbent(config, RID, commit)
        inputs = supervisor_context.gather(config, 1, incumbent)  # as the daemon's agent step
        resources = stack.enter_context(Resources(config, embedder=None))
        ctx = AgentContext(number=1, worktree=repo, config=config, ruler_id=RID,
                           services=DaemonServices(config, 1, repo, resources), recent_log=inputs.recent_log,
                           worst_cases=inputs.worst_cases, failure_notes=inputs.failure_notes,
                           best_quality=inputs.best_quality)
        outcome = ClaudeAgent(config, cli_path=cli_path, extra_env={"ANTHROPIC_API_KEY": "dummy"}).run(ctx)
        bodies = [b for b in server.requests
                  if any(str(t.get("name", "")).startswith(MCP) for t in b.get("tools") or [])]
    assert outcome.error is None and outcome.hypothesis.startswith("Looking at the worst cases"), outcome
    assert {(e["method"], e["path"].split("?")[0]) for e in server.log} == {("POST", "/v1/messages")}
    results = list(tool_results(bodies[-1]).values())
    assert len(results) == 4
    worst, pool_run, refused = (result_text(r) for r in results[:3])

    shown = first_json(worst)["worst_cases"]
    assert [c["case_id"] for c in shown] == [c.case_id for c in incumbent.worst] and len(shown) == WORST
    for case in shown:
        assert case["answer"] == own_answer(case["case_id"]) and case["failure_notes"] == note(case["case_id"])
        assert set(case["dims"]) == {"atomicity", "specificity", "coverage", "naturalness", "non_redundancy"}
        assert case["verdict"] == "gold" and case["dims"]["coverage"] in (1, 2)

    pool_case = load_cases(repo / "agent_workspace" / POOL)[0]
    ran = first_json(pool_run)
    assert not results[1].get("is_error") and ran["task_id"] == pool_case.id and ran["task"] == pool_case.task
    assert ran["error"] is None and len(ran["answer"]["questions"]) == 7 and ran["model_calls"] >= 1
    assert any(step.get("kind") == "model" for step in ran["trace"])

    ruler = load_cases(repo / "ruler" / "tasks.jsonl")
    assert results[2].get("is_error") and f"task {ruler[0].id!r} is in the frozen ruler" in refused
    everything = json.dumps(server.requests)
    golds = [q for c in ruler + load_cases(repo / "ruler" / "holdout.jsonl") for q in c.gold.questions]
    by_id = {c.id: c for c in ruler}
    assert by_id[shown[0]["case_id"]].gold.questions[0] in golds  # the check below can see a worst case's gold
    assert [q for q in golds if q in everything] == []
    assert [q for q in pool_case.gold.questions if q in pool_run] == []  # nor the pool's gold in the run
