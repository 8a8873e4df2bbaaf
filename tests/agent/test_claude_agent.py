"""`ClaudeAgent` with the REAL Claude Code CLI (bundled in claude-agent-sdk) against a scripted server.

Network: the CLI runs through `tests.support.netns.isolated_cli`, i.e. under `unshare -n` in its own
network namespace where the only reachable address is 127.0.0.1:<server port>, bridged through a
Unix socket to the `ScriptedAnthropicServer` in this process (a plain `unshare -n` would leave the
server unreachable, since the new namespace has its own loopback). So a passing test proves the CLI
needed nothing but the scripted server. Where namespaces are not permitted (not root), the CLI runs
directly with CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 and the tests still assert that every
request the server saw was a POST /v1/messages.

Each test launches the CLI once (about 1.5 s, ~216 MB), so scenarios are few and each checks a lot.
Services are a fake recording calls; the real `AgentServices` belongs to the daemon core.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import claude_agent_sdk
import pytest
from sqlalchemy import select

from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.agents.claude import ClaudeAgent
from loop.daemon.requests import create_request, request_path
from loop.db.models import Event, Experiment, TrainingRequest
from loop.db.session import session_scope
from tests.support import netns
from tests.support.anthropic_server import ScriptedAnthropicServer, text_reply
from tests.support.claude_scripts import EDIT_MARK, HYPOTHESIS, scripted_agent_handler

from .conftest import GOLD_QUESTIONS

BUNDLED_CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
NETNS = netns.available()
MCP_TOOLS = {f"mcp__autoresearch__{n}" for n in ("evaluate", "record_hypothesis", "request_manual_training",
                                                  "experiment_log", "worst_cases", "run_task")}
pytestmark = pytest.mark.skipif(not BUNDLED_CLI.exists(), reason="claude-agent-sdk wheel without the bundled CLI")


class FakeServices:
    """Records every call; `evaluate` returns gold on purpose to prove the tool layer strips it."""

    def __init__(self, config, number: int):
        self.config, self.number, self.calls = config, number, []

    def evaluate(self, gate: str) -> dict:
        self.calls.append(("evaluate", gate))
        return {"gate": gate, "quality": 0.372, "dims": {"coverage": 3.1, "naturalness": 4.2}, "wins": 1, "ties": 4,
                "losses": 5, "worst_cases": [{"case_id": "t01", "task": "plan a trip to Paris", "quality": 0.21,
                                              "failure_notes": "misses the departure city and party size",
                                              "gold": {"questions": GOLD_QUESTIONS}}]}

    def record_hypothesis(self, hypothesis: str, method: str, lever: str = "inference") -> None:
        self.calls.append(("record_hypothesis", hypothesis, method, lever))

    def request_manual_training(self, recipe: str, rationale: str, evidence: str) -> int:
        self.calls.append(("request_manual_training", recipe))
        return create_request(self.config, recipe, rationale, evidence, experiment_number=self.number)

    def experiment_log(self, n: int = 20) -> str:
        self.calls.append(("experiment_log", n))
        return "| # | status | quality |\n|---|---|---|\n| 0006 | discarded | 0.301 |"


class Run:
    def __init__(self, outcome: AgentOutcome, services: FakeServices, server: ScriptedAnthropicServer):
        self.outcome, self.services = outcome, services
        self.requests, self.log = server.requests, server.log


def run_agent(handler, config, worktree: Path, *, number: int = 7, **caps) -> Run:
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ScriptedAnthropicServer(handler))
        cfg = config.model_copy(update={"anthropic_base_url": server.base_url, **caps})
        cli_path = netns.bridged_cli(stack, BUNDLED_CLI, server.port) if NETNS else None
        services = FakeServices(cfg, number)
        ctx = AgentContext(number=number, worktree=worktree, config=cfg, services=services, ruler_id="r" * 64,
                           recent_log="| 0006 | discarded | 0.301 | retrieval k=5 |",
                           failure_notes=["t01: misses the departure city"], best_quality=0.34)
        outcome = ClaudeAgent(cfg, cli_path=cli_path, extra_env={"ANTHROPIC_API_KEY": "dummy"}).run(ctx)
        run = Run(outcome, services, server)
    assert {(entry["method"], entry["path"].split("?")[0]) for entry in run.log} <= {("POST", "/v1/messages")}
    return run


def _tool_results(request: dict) -> list[dict]:
    return [block for m in request["messages"] if m["role"] == "user" and isinstance(m["content"], list)
            for block in m["content"] if block.get("type") == "tool_result"]


def test_edit_evaluate_record(config, worktree: Path) -> None:
    draft = worktree / "agent_workspace" / "prompts" / "draft.md"
    before = draft.read_text()
    run = run_agent(scripted_agent_handler("edit_and_evaluate"), config, worktree)
    out = run.outcome
    assert out.error is None and out.stop_reason == "done"
    assert (out.hypothesis, out.lever, out.claimed_quality) == (HYPOTHESIS, "inference", 0.372)
    assert "instruction line" in out.method
    assert out.cost_usd and out.cost_usd > 0 and out.turns == len(run.requests) == 5
    assert out.tokens["input_tokens"] > 0 and out.duration_s and out.duration_s > 0 and out.denials == []
    assert draft.read_text() == before.rstrip("\n") + "\n" + EDIT_MARK + "\n"
    assert run.services.calls == [("evaluate", "dev"), ("record_hypothesis", HYPOTHESIS, out.method, "inference")]
    first = run.requests[0]
    assert first["model"] == config.agent_model
    assert {t["name"] for t in first["tools"]} == {"Read", "Write", "Edit", "Glob", "Grep"} | MCP_TOOLS
    system = json.dumps(first["system"])
    assert "The research program" in system and "never trusted" in system
    opening = json.dumps(first["messages"])
    assert "Experiment 0007" in opening and "misses the departure city" in opening and "retrieval k=5" in opening
    # the evaluate result reached the model with its numbers, but never with gold text
    evaluated = json.dumps(_tool_results(run.requests[3]))
    assert "0.372" in evaluated and "misses the departure city and party size" in evaluated
    assert not any(q in json.dumps(r) for r in run.requests for q in GOLD_QUESTIONS)


def test_write_to_ruler_is_denied(config, worktree: Path) -> None:
    tasks = worktree / "ruler" / "tasks.jsonl"
    before = tasks.read_bytes()
    run = run_agent(scripted_agent_handler("write_ruler"), config, worktree)
    out = run.outcome
    assert tasks.read_bytes() == before
    assert len(out.denials) == 2
    assert out.denials[0].startswith("Write denied:") and "agent_workspace/ only" in out.denials[0]
    assert out.denials[1].startswith("Read denied:") and "frozen ruler" in out.denials[1]
    results = _tool_results(run.requests[-1])
    assert len(results) == 2 and all(r.get("is_error") for r in results)
    assert "agent_workspace/ only" in json.dumps(results[0])
    assert not any(q in json.dumps(run.requests) for q in GOLD_QUESTIONS)  # the Read never returned the file
    assert out.hypothesis == "" and run.services.calls == [] and out.stop_reason == "done"


def test_copying_gold_into_the_workspace_is_allowed_here(config, worktree: Path) -> None:
    """The hook confines writes; catching gold in the workspace is the daemon guard's job (daemon tests)."""
    run = run_agent(scripted_agent_handler("copy_gold"), config, worktree)
    leak = worktree / "agent_workspace" / "data" / "leak.jsonl"
    assert leak.exists() and all(q in leak.read_text() for q in GOLD_QUESTIONS)
    assert run.outcome.denials == [] and run.outcome.hypothesis.startswith("Retrieval examples")
    assert run.outcome.error is None


def test_manual_training_request(config, worktree: Path) -> None:
    with session_scope(config) as s:
        s.add(Experiment(number=9, status="running"))
    run = run_agent(scripted_agent_handler("request_training"), config, worktree, number=9)
    out = run.outcome
    assert [c[0] for c in run.services.calls] == ["experiment_log", "request_manual_training", "record_hypothesis"]
    assert run.services.calls[0] == ("experiment_log", 5) and out.lever == "orpo"
    with session_scope(config) as s:
        [row] = s.scalars(select(TrainingRequest)).all()
        events = [(e.kind, e.experiment_number) for e in s.scalars(select(Event))]
    assert (row.recipe, row.experiment_number, row.status) == ("orpo", 9, "open")
    text = request_path(config, row.id).read_text()
    assert "ORPO" in text and "experiment: 0009" in text and "Coverage 3.0 on 8 of 10" in text
    assert events == [("training_request", 9)]
    assert "0006 | discarded" in json.dumps(_tool_results(run.requests[1]))


def test_turn_cap_keeps_the_figures(config, worktree: Path) -> None:
    run = run_agent(scripted_agent_handler("endless"), config, worktree, max_turns=2)
    out = run.outcome
    assert out.stop_reason == "max_turns" and "turn cap of 2" in (out.error or "")
    assert out.cost_usd and out.cost_usd > 0 and out.turns is not None and out.turns >= 2
    assert len(run.services.calls) <= 2


def test_dollar_cap(config, worktree: Path) -> None:
    # every scripted turn costs ~$0.03 at Sonnet prices (about 10k input tokens of system prompt)
    run = run_agent(scripted_agent_handler("endless"), config, worktree, max_agent_usd=0.05)
    out = run.outcome
    assert out.stop_reason == "budget_cap" and "dollar cap" in (out.error or "")
    assert out.cost_usd is not None and out.cost_usd > 0.05 and len(run.requests) < 5


def test_wall_time_cap_and_api_errors(config, worktree: Path) -> None:
    hang = lambda body: text_reply("late", hang_s=30)  # noqa: E731
    run = run_agent(hang, config, worktree, max_agent_seconds=2.0)
    assert run.outcome.stop_reason == "time_cap" and "wall-time cap" in (run.outcome.error or "")
    assert run.outcome.duration_s < 15
    broken = lambda body: text_reply("no", status=400, error_type="invalid_request_error")  # noqa: E731
    failed = run_agent(broken, config, worktree).outcome
    assert failed.error and failed.stop_reason != "done" and failed.hypothesis == ""
