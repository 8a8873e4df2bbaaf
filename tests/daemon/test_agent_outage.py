"""An unreachable agent API is waited out, like an unreachable judge; the agent's own failure is a crash.

The REAL Claude Code CLI (bundled in claude-agent-sdk) against the scripted Anthropic-compatible server
on 127.0.0.1, driven by the real daemon (replay runner, proxy judge). What the CLI reports, measured:
a refused connection, HTTP 500 and 529 end the run with an `AssistantMessage.error` of `server_error`,
HTTP 429 with `rate_limit` (all: wait and run again); HTTP 400 with `unknown`, 401 with
`authentication_failed` (the agent's failure: crashed).

- 529 overloaded for the first three requests: the daemon waits ("waiting for the agent's API since
  HH:MM (n tries)", one notification), records no crash, counts nothing toward the failure halt, then
  runs the agent again under the same number and the experiment proceeds;
- connection refused under `run --once`: exit 5 with a one-line reason, no quality, the experiment
  suspended at its agent step; the next start (the server up on that port) resumes it, same number;
- HTTP 400 (not an outage) and an agent whose code raises: crashed, counted toward the halt.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from pathlib import Path

import claude_agent_sdk
import pytest
from sqlalchemy import select

from loop.daemon.agents.claude import ClaudeAgent
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import StopKind
from loop.db.models import Evaluation, Event
from loop.db.session import session_scope
from tests.support import netns
from tests.support.anthropic_server import Reply, ScriptedAnthropicServer
from tests.support.claude_scripts import EDIT_MARK, HYPOTHESIS, ScriptedAgent

REPO = Path(__file__).resolve().parents[2]
BUNDLED_CLI = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
needs_cli = pytest.mark.skipif(not BUNDLED_CLI.exists(), reason="claude-agent-sdk wheel without the bundled CLI")
WAIT = dict(judge_wait_initial_s=0.05, judge_wait_max_s=0.2, judge_wait_notify_after_s=0.0)
NO_CLI_RETRIES = {"ANTHROPIC_API_KEY": "dummy", "CLAUDE_CODE_MAX_RETRIES": "0"}  # one request per failed run


class DownFirst:
    """The agent's API: an error status for the first `failures` requests, then the scripted agent."""

    def __init__(self, failures: int, status: int, error_type: str):
        self.script = ScriptedAgent("edit_and_evaluate")
        self.failures, self.status, self.error_type = failures, status, error_type
        self.failed = 0
        self.lock = threading.Lock()

    def __call__(self, body: dict) -> Reply:
        with self.lock:
            if self.failed < self.failures:
                self.failed += 1
                return Reply(status=self.status, error_type=self.error_type, error_message="scripted outage")
        return self.script(body)


@contextlib.contextmanager
def agent_api(handler, isolate: bool = True):
    """(server, cli_path): the scripted server, and the CLI confined to it where namespaces allow."""
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(ScriptedAnthropicServer(handler))
        cli_path = netns.bridged_cli(stack, BUNDLED_CLI, server.port) if isolate else None
        yield server, cli_path
        assert {(e["method"], e["path"].split("?")[0]) for e in server.log} <= {("POST", "/v1/messages")}


def claude_config(h, repo: Path, base_url: str):
    return h.config_for(repo, agent="claude", anthropic_base_url=base_url, max_turns=10, max_agent_seconds=120,
                        **WAIT)


def events(config, kind: str) -> list[Event]:
    with session_scope(config) as db:
        return list(db.scalars(select(Event).where(Event.kind == kind)))


def official(config, number: int) -> list[Evaluation]:
    with session_scope(config) as db:
        return list(db.scalars(select(Evaluation).where(Evaluation.experiment_number == number,
                                                        Evaluation.kind == "official")))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_cli
def test_an_overloaded_agent_api_is_waited_out_then_the_same_experiment_proceeds(research_repo, h):
    api = DownFirst(3, 529, "overloaded_error")
    with agent_api(api) as (server, cli_path):
        config = claude_config(h, research_repo, server.base_url)
        agent = ClaudeAgent(config, cli_path=cli_path, extra_env=NO_CLI_RETRIES)
        daemon = Daemon(config, RunOptions(max_experiments=1, live=False, watch=False, handle_signals=False),
                        agent=agent)
        seen: list[str] = []
        shown = daemon.status.waiting
        daemon.status.waiting = lambda outage: (seen.append(outage.line()) if outage else None, shown(outage))
        summary = daemon.run()
    assert api.failed == 3
    assert [re.sub(r"since \d\d:\d\d", "since HH:MM", line) for line in seen] == [
        "waiting for the agent's API since HH:MM (1 try)", "waiting for the agent's API since HH:MM (2 tries)",
        "waiting for the agent's API since HH:MM (3 tries)"]
    rows = h.rows(config)
    assert sorted(rows) == [0, 1]  # the agent ran again under the same number
    assert rows[1].status in ("kept", "discarded") and rows[1].step == "done", rows[1].reason
    assert rows[1].hypothesis == HYPOTHESIS and rows[1].quality is not None
    assert [e.gate for e in official(config, 1)][0] == "dev"
    changed = h.git(research_repo, "diff", "--name-only", rows[0].commit, rows[1].commit).split()
    assert changed and EDIT_MARK in h.git(research_repo, "show", f"{rows[1].commit}:{changed[0]}")
    assert daemon.consecutive_failures == 0 and summary.stop.kind is StopKind.MAX_EXPERIMENTS
    waited = events(config, "agent_api_waiting")
    assert len(waited) == 1 and "529" in waited[0].payload["error"]
    assert waited[0].payload["waiting_for"] == "the agent's API"
    assert events(config, "judge_waiting") == [] and daemon.status.waiting_line is None
    h.assert_git_clean(research_repo)


@needs_cli
def test_run_once_with_the_agent_api_refusing_exits_non_zero_then_the_next_start_resumes_it(research_repo, h):
    port = free_port()  # nothing listens there: the CLI's connection is refused
    toml = research_repo / "autoresearch.toml"
    toml.write_text(toml.read_text() + "".join(f"{k} = {v}\n" for k, v in WAIT.items()))
    h.git(research_repo, "commit", "-qam", "fast waits")
    done = h.cli(research_repo, "run", "--once", "--no-live",
                 env={"AUTORESEARCH_AGENT": "claude", "ANTHROPIC_BASE_URL": f"http://127.0.0.1:{port}",
                      "CLAUDE_CODE_MAX_RETRIES": "0", "PYTHONPATH": str(REPO)})
    assert done.returncode == 5, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("stopped: the agent's API is unavailable: server_error: API Error: Connection refused"), last
    assert last.endswith("experiment 0001 suspended, no quality recorded; it resumes on the next start"), last
    config = claude_config(h, research_repo, f"http://127.0.0.1:{port}")
    rows = h.rows(config)
    assert sorted(rows) == [0, 1] and rows[0].status == "kept"
    assert rows[1].status == "running" and rows[1].resume_step == "agent" and rows[1].quality is None
    assert rows[1].reason.startswith("stopped waiting for the agent's API in step agent: ")
    assert official(config, 1) == []
    h.assert_git_clean(research_repo)

    with ScriptedAnthropicServer(ScriptedAgent("edit_and_evaluate"), port=port):  # the API answers again
        daemon = Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False),
                        agent=ClaudeAgent(config, extra_env=NO_CLI_RETRIES))
        again = daemon.run()
    assert "experiment 0001 will resume from step agent" in again.recovered
    rows = h.rows(config)
    assert sorted(rows) == [0, 1] and [r.number for r in again.results] == [1]
    assert rows[1].status in ("kept", "discarded") and rows[1].resume_step is None, rows[1].reason
    assert rows[1].hypothesis == HYPOTHESIS and rows[1].quality is not None
    assert again.stop.kind is StopKind.ONCE and daemon.consecutive_failures == 0
    h.assert_git_clean(research_repo)


@needs_cli
def test_an_api_error_that_is_not_an_outage_crashes_the_experiment_and_counts(research_repo, h):
    api = DownFirst(10**6, 400, "invalid_request_error")
    with agent_api(api) as (server, cli_path):
        config = claude_config(h, research_repo, server.base_url)
        daemon = Daemon(config, RunOptions(max_experiments=1, live=False, watch=False, handle_signals=False),
                        agent=ClaudeAgent(config, cli_path=cli_path, extra_env=NO_CLI_RETRIES))
        daemon.run()
    row = h.rows(config)[1]
    assert row.status == "crashed" and row.reason.startswith("agent failed: ") and "400" in row.reason, row.reason
    assert row.quality is None and daemon.consecutive_failures == 1
    assert events(config, "agent_api_waiting") == []


def test_an_agent_whose_code_raises_is_crashed_and_counts(research_repo, h):
    class Raises:
        name = "raises"

        def run(self, ctx):
            raise RuntimeError("the agent's own bug")

    config = h.config_for(research_repo, **WAIT)
    daemon = Daemon(config, RunOptions(max_experiments=1, live=False, watch=False, handle_signals=False),
                    agent=Raises())
    daemon.run()
    row = h.rows(config)[1]
    assert row.status == "crashed" and row.reason == "agent failed: agent raised RuntimeError: the agent's own bug"
    assert daemon.consecutive_failures == 1 and events(config, "agent_api_waiting") == []
