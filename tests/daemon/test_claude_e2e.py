"""Whole iterations with the `claude` agent: the REAL Claude Code CLI (bundled in claude-agent-sdk)
against a scripted Anthropic-compatible server on 127.0.0.1, driven by the real daemon.

Network: where network namespaces are allowed (root on Linux), the CLI runs under `unshare -n` with
only the scripted server bridged in (tests/support/netns.py), so it can reach nothing else. Elsewhere
it runs directly with CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1, and every test still checks that
the server saw nothing but POST /v1/messages. Runner and judge are the replay runner and the proxy
judge (real processes, real scoring), so these tests are about the loop, not about model quality.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import claude_agent_sdk
import pytest
from sqlalchemy import select

from loop.daemon.agents.claude import ClaudeAgent
from loop.daemon.runloop import Daemon, RunOptions
from loop.db.models import TrainingRequest
from loop.db.session import session_scope
from loop.ruler_lock import verify_lock
from tests.support import netns
from tests.support.anthropic_server import ScriptedAnthropicServer
from tests.support.claude_scripts import EDIT_MARK, HYPOTHESIS, scripted_agent_handler

BUNDLED_CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
pytestmark = pytest.mark.skipif(not BUNDLED_CLI.exists(), reason="claude-agent-sdk wheel without the bundled CLI")


def run_once_with_claude(repo: Path, scenario: str, h):
    """One `run --once` (baseline first) with the claude agent playing `scenario`; returns (rows, server log)."""
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ScriptedAnthropicServer(scripted_agent_handler(scenario)))
        cli_path = netns.bridged_cli(stack, BUNDLED_CLI, server.port)
        config = h.config_for(repo, agent="claude", anthropic_base_url=server.base_url, max_turns=10,
                              max_agent_seconds=120)
        agent = ClaudeAgent(config, cli_path=cli_path, extra_env={"ANTHROPIC_API_KEY": "dummy"})
        Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False), agent=agent).run()
        log = list(server.log)
    assert log and {(e["method"], e["path"].split("?")[0]) for e in log} == {("POST", "/v1/messages")}
    return config, h.rows(config)


def test_edit_evaluate_record_gives_a_rescored_committed_experiment(research_repo, h):
    config, rows = run_once_with_claude(research_repo, "edit_and_evaluate", h)
    experiment = rows[1]
    assert experiment.agent == "claude" and experiment.operator == "autonomous"
    assert experiment.status in ("kept", "discarded"), experiment.reason
    assert experiment.hypothesis == HYPOTHESIS and experiment.lever == "inference"
    assert experiment.agent_cost_usd > 0 and experiment.agent_turns >= 4 and not experiment.agent_denials
    # the daemon re-scored the committed tree itself; the agent's own number is kept apart
    assert experiment.quality is not None and experiment.agent_claimed_quality is not None
    assert experiment.ruler_id == rows[0].ruler_id
    changed = h.git(research_repo, "diff", "--name-only", rows[0].commit, experiment.commit).split()
    assert changed and all(p.startswith("agent_workspace/prompts/") for p in changed)
    edited = h.git(research_repo, "show", f"{experiment.commit}:{changed[0]}")
    assert EDIT_MARK in edited
    trailers = h.trailers(research_repo, "refs/experiments/0001")
    assert trailers["Experiment"] == "0001" and trailers["Status"] == experiment.status
    assert trailers["Operator"] == "autonomous" and trailers["Parent"] == "0000"
    subject = h.git(research_repo, "log", "-1", "--format=%s", "refs/experiments/0001")
    assert subject.startswith("exp 0001: ") and "decision-critical" in subject
    h.assert_git_clean(research_repo)


def test_writing_the_ruler_is_denied_and_the_ruler_is_untouched(research_repo, h):
    before = (research_repo / "ruler" / "tasks.jsonl").read_bytes()
    config, rows = run_once_with_claude(research_repo, "write_ruler", h)
    experiment = rows[1]
    assert len(experiment.agent_denials) == 2
    assert any(d.startswith("Write denied:") for d in experiment.agent_denials)
    assert (research_repo / "ruler" / "tasks.jsonl").read_bytes() == before
    assert verify_lock(research_repo / "ruler") == []
    if experiment.commit:
        assert h.git(research_repo, "diff", "--name-only", rows[0].commit, experiment.commit, "--", "ruler") == ""
    assert experiment.status != "kept"
    h.assert_git_clean(research_repo)


def test_copying_gold_into_the_workspace_is_invalid(research_repo, h):
    config, rows = run_once_with_claude(research_repo, "copy_gold", h)
    experiment = rows[1]
    assert experiment.status == "invalid", experiment.reason
    assert "gold" in experiment.reason.lower()
    assert h.git(research_repo, "rev-parse", "research") == rows[0].commit  # never advanced
    assert h.git(research_repo, "rev-parse", "refs/experiments/0001") == experiment.commit  # but not erased
    h.assert_git_clean(research_repo)


def test_asking_for_manual_training_produces_a_request(research_repo, h):
    config, rows = run_once_with_claude(research_repo, "request_training", h)
    with session_scope(config) as db:
        requests = db.scalars(select(TrainingRequest)).all()
        assert len(requests) == 1 and requests[0].recipe == "orpo" and requests[0].experiment_number == 1
        path = Path(requests[0].path)
    if not path.is_absolute():
        path = research_repo / path
    text = path.read_text()
    assert "orpo" in text.lower() and "0001" in text
    listing = h.cli(research_repo, "requests")
    assert listing.returncode == 0 and "orpo" in listing.stdout
    # the agent recorded lever `orpo` through its MCP tool, but trained nothing: the record derives the
    # lever from the committed workspace (no adapter pointer -> inference) and keeps the claim beside it
    assert (rows[1].lever, rows[1].lever_claimed) == ("inference", "orpo")
    assert h.trailers(research_repo, "refs/experiments/0001")["Lever-Claimed"] == "orpo"
