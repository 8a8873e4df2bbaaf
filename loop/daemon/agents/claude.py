"""The `claude` research agent: Claude Code driven through claude-agent-sdk, on a tight leash.

One `run(ctx)` is one iteration's agent step in the experiment's worktree:

- tools: Read, Write, Edit, Glob, Grep and the daemon's MCP tools (loop/daemon/agents/mcp_tools.py:
  evaluate, record_hypothesis, request_manual_training, experiment_log, worst_cases, run_task); no shell, no web;
- `permission_mode="acceptEdits"` (bypassPermissions refuses to run as root) with a PreToolUse hook
  (`hooks.py`) that denies writes outside `agent_workspace/` and any read of the ruler;
- no filesystem settings are loaded (`setting_sources=[]`), only our MCP server (`strict_mcp_config`);
- the CLI's HOME and CLAUDE_CONFIG_DIR live in a per-iteration temp dir (removed afterwards),
  non-essential traffic, telemetry, error reporting and the auto-updater are off, retries capped;
- caps: `config.max_turns` (CLI `--max-turns`), `config.max_agent_usd` (CLI `--max-budget-usd`, and
  checked again on every ResultMessage), `config.max_agent_seconds` (a timeout around the run), and
  `ctx.should_stop()` (polled; the daemon's SIGTERM).

The SDK raises after some error results (max turns, API errors); the stream is wrapped so whatever
arrived before (cost, turns, usage, denials) still lands in the `AgentOutcome`.
`stop_reason`: `done` (success), `max_turns`, `budget_cap`, `time_cap`, `stopped`, `error`, or another
ResultMessage subtype verbatim (e.g. `error_during_execution`). `error` is set when the run failed
(API error, CLI crash) or when a cap ended it before the agent recorded its hypothesis; a capped run
that did record one is not an error. `denials` are the hook's refusals with their reasons.
`api_unavailable` is set beside `error` when the run failed because the model API was unreachable,
overloaded or rate-limiting (`api_outage`): the CLI ends such a run with an AssistantMessage whose
`error` is `server_error` (connection refused, HTTP 500, 529) or `rate_limit` (HTTP 429); HTTP 400
gives `unknown`, 401 `authentication_failed` (measured with CLI 2.1.330). The daemon then waits and
runs the agent again instead of recording a crash (loop/daemon/agent_step.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from claude_agent_sdk import AssistantMessage, ClaudeAgentOptions, HookMatcher, ResultMessage, query

from loop.config import Config
from loop.daemon.agents import prompt as prompts
from loop.daemon.agents.base import AgentContext, AgentOutcome
from loop.daemon.agents.hooks import AccessPolicy, Decision, make_pre_tool_use_hook
from loop.daemon.agents.mcp_tools import SERVER_NAME, TOOL_NAMES, ToolSession, build_server, qualified

log = logging.getLogger(__name__)

BUILTIN_TOOLS = ["Read", "Write", "Edit", "Glob", "Grep"]
STDERR_TAIL = 40


def cli_env(config: Config, home: Path) -> dict[str, str]:
    """The environment the CLI runs with (merged by the SDK over the daemon's own)."""
    env = {
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "2",
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
    }
    if config.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = config.anthropic_base_url
        if not os.environ.get("ANTHROPIC_API_KEY") and not os.environ.get("ANTHROPIC_AUTH_TOKEN"):
            env["ANTHROPIC_API_KEY"] = "local-endpoint"  # a compatible local server needs none; the CLI wants one
    return env


class _Run:
    """Mutable state of one agent run, folded into an AgentOutcome at the end."""

    def __init__(self) -> None:
        self.result: ResultMessage | None = None
        self.turns = 0
        self.tokens: dict[str, int] = {}
        self.denials: list[dict] = []
        self.stop_reason: str | None = None
        self.failure: str | None = None  # what went wrong (not a cap)
        self.cap: str | None = None  # which cap ended the run, if one did
        self.stderr: list[str] = []
        self.api_errors: list[str] = []  # what the CLI reported of failed API calls (AssistantMessage.error + text)
        self.lock = threading.Lock()

    def on_decision(self, tool_name: str, tool_input: Any, decision: Decision) -> None:
        if not decision.allow:
            log.info("agent tool call denied: %s %s", tool_name, decision.reason)
            target = _brief(tool_input)
            self.denials.append({"tool_name": tool_name, "tool_input": target, "text": decision.reason})

    def on_stderr(self, line: str) -> None:
        with self.lock:
            self.stderr = (self.stderr + [line])[-STDERR_TAIL:]

    def on_assistant(self, message: AssistantMessage) -> None:
        error = getattr(message, "error", None)
        if error:
            text = " ".join(getattr(b, "text", "") for b in message.content or []).strip()
            self.api_errors.append(f"{error}: {text}" if text else str(error))
        if message.parent_tool_use_id is None:
            self.turns += 1
        for key, value in (message.usage or {}).items():
            if isinstance(value, int):
                self.tokens[key] = self.tokens.get(key, 0) + value


def _brief(tool_input: Any) -> Any:
    """A tool input fit for the record: long strings (file contents) cut short."""
    if isinstance(tool_input, dict):
        return {k: (v[:200] + "…" if isinstance(v, str) and len(v) > 200 else v) for k, v in tool_input.items()}
    return tool_input


class ClaudeAgent:
    """Agent protocol implementation backed by the Claude Code CLI."""

    name = "claude"

    def __init__(self, config: Config | None = None, *, cli_path: str | Path | None = None,
                 extra_env: dict[str, str] | None = None, extra_protected: tuple[Path, ...] = (),
                 max_evaluations: int = 6):
        self.config = config  # informational; each run uses `ctx.config`
        self.cli_path = cli_path  # None = the CLI bundled in the claude-agent-sdk wheel
        self.extra_env = dict(extra_env or {})
        self.extra_protected = extra_protected
        self.max_evaluations = max_evaluations

    # --- Agent protocol ----------------------------------------------------------------------
    def run(self, ctx: AgentContext) -> AgentOutcome:
        """Run one iteration synchronously (a fresh event loop, in a thread if one is running here)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.arun(ctx))
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["out"] = asyncio.run(self.arun(ctx))
            except BaseException as exc:  # re-raised in the caller's thread
                box["exc"] = exc

        thread = threading.Thread(target=target, name="claude-agent")
        thread.start()
        thread.join()
        if "exc" in box:
            raise box["exc"]
        return box["out"]

    async def arun(self, ctx: AgentContext) -> AgentOutcome:
        config: Config = ctx.config
        started = time.monotonic()
        state, session = _Run(), ToolSession()
        home = Path(tempfile.mkdtemp(prefix=f"autoresearch-claude-{ctx.number:04d}-"))
        try:
            options = self.options(ctx, home, state, session)
            user_prompt = prompts.render_for(config, ctx.prompt_inputs())
            consumer = asyncio.create_task(self._consume(user_prompt, options, config, state))
            watcher = asyncio.create_task(_watch_stop(ctx.should_stop))
            done, _ = await asyncio.wait({consumer, watcher}, timeout=config.max_agent_seconds,
                                         return_when=asyncio.FIRST_COMPLETED)
            if consumer not in done:
                consumer.cancel()
                if watcher in done:
                    state.stop_reason = "stopped"
                else:
                    state.stop_reason = "time_cap"
                    state.cap = f"the wall-time cap of {config.max_agent_seconds:g} s"
            watcher.cancel()
            await asyncio.gather(consumer, watcher, return_exceptions=True)
        finally:
            shutil.rmtree(home, ignore_errors=True)
        return self._outcome(state, session, time.monotonic() - started)

    # --- pieces ------------------------------------------------------------------------------
    def options(self, ctx: AgentContext, home: Path, state: _Run, session: ToolSession) -> ClaudeAgentOptions:
        config: Config = ctx.config
        worktree = Path(ctx.worktree)
        policy = AccessPolicy.for_worktree(worktree, (config.ruler_dir, *self.extra_protected))
        hook = make_pre_tool_use_hook(policy, state.on_decision)
        return ClaudeAgentOptions(
            cwd=str(worktree),
            tools=list(BUILTIN_TOOLS),
            allowed_tools=[qualified(name) for name in TOOL_NAMES],
            disallowed_tools=["Bash", "WebFetch", "WebSearch", "Task", "Agent"],
            permission_mode="acceptEdits",
            hooks={"PreToolUse": [HookMatcher(matcher=None, hooks=[hook])]},
            mcp_servers={SERVER_NAME: build_server(ctx.services, session, max_evaluations=self.max_evaluations,
                                                  worst_cases=ctx.worst_cases)},
            strict_mcp_config=True,
            setting_sources=[],
            system_prompt={"type": "preset", "preset": "claude_code", "append": prompts.program(config)},
            model=config.agent_model,
            max_turns=config.max_turns,
            max_budget_usd=config.max_agent_usd,
            env={**cli_env(config, home), **self.extra_env},
            cli_path=str(self.cli_path) if self.cli_path else None,
            stderr=state.on_stderr,
        )

    async def _consume(self, user_prompt: str, options: ClaudeAgentOptions, config: Config, state: _Run) -> None:
        stream = query(prompt=user_prompt, options=options)
        try:
            async for message in stream:
                if isinstance(message, AssistantMessage):
                    state.on_assistant(message)
                elif isinstance(message, ResultMessage):
                    state.result = message
                    state.stop_reason = SUBTYPES.get(message.subtype, message.subtype)
                    if message.subtype == "error_max_turns":
                        state.cap = f"the turn cap of {config.max_turns}"
                    elif message.subtype == "error_max_budget_usd":
                        state.cap = f"the dollar cap of ${config.max_agent_usd:.2f}"
                    if (message.total_cost_usd or 0.0) > config.max_agent_usd:
                        state.stop_reason = "budget_cap"
                        state.cap = f"the dollar cap of ${config.max_agent_usd:.2f} (spent ${message.total_cost_usd:.4f})"
                        break
        except Exception as exc:  # the SDK raises after error_max_turns and API errors: keep what arrived
            log.warning("claude agent stream ended with %s: %s", type(exc).__name__, exc)
            if state.cap is None:
                state.failure = _describe(exc, state)
                state.stop_reason = state.stop_reason if state.stop_reason not in (None, "done") else "error"
        finally:
            await stream.aclose()

    def _outcome(self, state: _Run, session: ToolSession, wall_s: float) -> AgentOutcome:
        result = state.result
        error = state.failure
        if error is None and result is not None and result.is_error and state.cap is None:
            error = f"{result.subtype}: " + ("; ".join(result.errors or []) or (result.result or "no detail"))
        if error is None and state.stop_reason is None:
            error = "the agent ended without a result"
        if error is None and state.cap is not None and not session.hypothesis:
            error = f"stopped by {state.cap} before recording a hypothesis"
        usage = result.usage if result is not None and result.usage else state.tokens
        denials = [d["text"] for d in state.denials]
        if not denials and result is not None:
            denials = [_denial_text(d) for d in result.permission_denials or []]
        return AgentOutcome(
            hypothesis=session.hypothesis or "",
            method=session.method or "",
            lever=session.lever,  # a claim (None when it never said); the daemon derives the recorded lever
            claimed_quality=session.claimed_quality,
            cost_usd=result.total_cost_usd if result is not None else None,
            turns=result.num_turns if result is not None else state.turns,
            tokens={k: v for k, v in usage.items() if isinstance(v, int)},
            duration_s=round(wall_s, 3),
            denials=denials,
            error=error,
            api_unavailable=api_outage(state) if error is not None and state.cap is None else None,
            stop_reason=state.stop_reason or "error",
        )


SUBTYPES = {"success": "done", "error_max_turns": "max_turns", "error_max_budget_usd": "budget_cap"}


async def _watch_stop(should_stop: Callable[[], bool], every_s: float = 0.5) -> None:
    """Returns once the daemon asks the agent to stop."""
    while not should_stop():
        await asyncio.sleep(every_s)


def _denial_text(denial: Any) -> str:
    if isinstance(denial, dict):
        tool_input = denial.get("tool_input") or {}
        target = tool_input.get("file_path") or tool_input.get("path") or tool_input.get("pattern") or ""
        return f"{denial.get('tool_name', '?')} {target}".strip()
    return str(denial)


OUTAGE_KINDS = ("rate_limit", "server_error")  # AssistantMessage.error values that mean "try again later"
OUTAGE_TEXT = re.compile(r"\b(429|5\d\d)\b|overloaded|rate.?limit|connection (error|refused)|ECONNREFUSED|ECONNRESET|"
                         r"socket hang up|fetch failed|timed? ?out|unable to connect", re.IGNORECASE)


def api_outage(state: _Run) -> str | None:
    """Why the run failed, when it failed because the model API was unreachable, overloaded or
    rate-limiting (a reason to wait and run again), else None (the agent's own failure: a crash).
    Read from what the CLI reported: the API-error assistant message and the result text."""
    reports = list(state.api_errors)
    if state.result is not None and state.result.is_error:
        reports.append(str(state.result.result or ""))
    for report in reports:
        kind = report.split(":", 1)[0]
        if kind in OUTAGE_KINDS or (kind not in NOT_OUTAGE and OUTAGE_TEXT.search(report)):
            return " ".join(report.split())[:300]
    return None


NOT_OUTAGE = ("authentication_failed", "billing_error", "invalid_request", "max_output_tokens")


def _describe(exc: Exception, state: _Run) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if state.result is not None and state.result.subtype.startswith("error"):
        text = f"{state.result.subtype}: {text}"
    tail = [line for line in state.stderr if line.strip()][-3:]
    return text + (" | stderr: " + " / ".join(tail) if tail else "")
