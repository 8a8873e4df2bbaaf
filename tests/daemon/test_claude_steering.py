"""With the REAL Claude Code CLI against the scripted Anthropic-compatible server, driven by the real
daemon: what `autoresearch prompt` printed is exactly the first user message the agent received, with
the supervisor's note at its top and the feedback beside its experiment; after its one experiment the
note has expired and the next prompt no longer carries it."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import claude_agent_sdk
import pytest

from loop.daemon.agents.claude import ClaudeAgent
from loop.daemon.runloop import Daemon, RunOptions
from tests.support import netns
from tests.support.anthropic_server import ScriptedAnthropicServer
from tests.support.claude_scripts import MCP, scripted_agent_handler

BUNDLED_CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
pytestmark = pytest.mark.skipif(not BUNDLED_CLI.exists(), reason="claude-agent-sdk wheel without the bundled CLI")
NOTE = "Name the decision-critical unknowns in the instructions; leave the knobs alone."
FEEDBACK = "The temperature move was within the noise floor: not worth repeating."


def user_texts(body: dict) -> list[str]:
    """The text blocks of the first user message of one /v1/messages request."""
    first = (body.get("messages") or [{}])[0]
    content = first.get("content")
    if isinstance(content, str):
        return [content]
    return [block.get("text", "") for block in content or [] if block.get("type") == "text"]


def offers_our_tools(body: dict) -> bool:
    return any(str(t.get("name", "")).startswith(MCP) for t in body.get("tools") or [])


def test_the_agent_receives_exactly_the_printed_prompt_and_the_note_then_expires(repo_copy, h):
    with (repo_copy / "autoresearch.toml").open("a") as handle:
        handle.write('supervisor = "ada"\nmax_turns = 10\nmax_agent_seconds = 120\n')  # read by both sides
    assert h.cli(repo_copy, "feedback", "1", FEEDBACK).returncode == 0
    assert h.cli(repo_copy, "steer", NOTE, "--for", "1", "--focus", "prompt").returncode == 0
    printed = h.cli(repo_copy, "prompt", "--json")
    assert printed.returncode == 0, printed.stderr
    expected = json.loads(printed.stdout)
    assert expected["number"] == 2 and NOTE in expected["prompt"] and FEEDBACK in expected["prompt"]

    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ScriptedAnthropicServer(scripted_agent_handler("edit_and_evaluate")))
        cli_path = netns.bridged_cli(stack, BUNDLED_CLI, server.port)
        config = h.config_for(repo_copy, agent="claude", anthropic_base_url=server.base_url)
        agent = ClaudeAgent(config, cli_path=cli_path, extra_env={"ANTHROPIC_API_KEY": "dummy"})
        Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False), agent=agent).run()
        bodies = [body for body in server.requests if offers_our_tools(body)]
    assert bodies, "the CLI never asked the scripted model with the autoresearch tools"
    received = user_texts(bodies[0])
    assert expected["prompt"] in received, received
    assert all(user_texts(body)[:len(received)] == received for body in bodies)  # the same opening every turn
    rows = h.rows(config)
    assert rows[2].agent == "claude" and rows[2].status in ("kept", "discarded"), rows[2].reason

    (note,) = json.loads(h.cli(repo_copy, "steer", "--list", "--all", "--json").stdout)
    assert (note["state"], note["shown_to"]) == ("expired", [2])
    after = json.loads(h.cli(repo_copy, "prompt", "--json").stdout)
    assert after["number"] == 3 and NOTE not in after["prompt"] and after["steering"] == []
    assert FEEDBACK in after["prompt"]  # feedback stays beside its experiment
