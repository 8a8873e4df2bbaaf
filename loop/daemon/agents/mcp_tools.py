"""The daemon's services offered to Claude Code as in-process MCP tools (server name `autoresearch`).

The model sees them as `mcp__autoresearch__evaluate`, `..._record_hypothesis`,
`..._request_manual_training`, `..._experiment_log`, `..._worst_cases` and `..._run_task`. Arguments
are pydantic models (their JSON schema is what the model is shown; the handler validates again). The
services object is the daemon core's `AgentServices`; its methods may be plain or async. Plain ones run
in a worker thread so a long evaluation does not stall the conversation with the CLI.

What the agent gets back from `evaluate` is filtered here, whatever the service returns: keys that
name gold or reference text are dropped at any depth, so the agent only ever sees its own scores,
the per-dimension means and the judge's failure notes (which the judge phrases without quoting gold).
`worst_cases` returns the very list the iteration prompt rendered (`AgentContext.worst_cases`, read by
`loop.daemon.experiments.incumbent` from the incumbent's full-gate evaluation: one reader), as JSON;
`run_task` runs the workspace's pipeline on one training-pool task (`services.run_task`), both filtered
the same way.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any, Literal

from claude_agent_sdk import create_sdk_mcp_server, tool
from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

SERVER_NAME = "autoresearch"
TOOL_NAMES = ("evaluate", "record_hypothesis", "request_manual_training", "experiment_log", "worst_cases",
              "run_task")
GOLD_KEY_MARKERS = ("gold", "reference", "expected")


def qualified(name: str) -> str:
    """The name Claude Code gives an in-process MCP tool."""
    return f"mcp__{SERVER_NAME}__{name}"


class EvaluateArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gate: Literal["dev", "full"] = Field(
        default="dev", description="`dev` (10 fixed cases, quick) or `full` (all 30 cases, slow)."
    )


class RecordHypothesisArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hypothesis: str = Field(min_length=3, description="The one hypothesis this experiment tests, in a sentence or two.")
    method: str = Field(min_length=3, description="What you changed and how, concretely (files, steps, settings).")
    lever: Literal["inference", "sft", "orpo"] = Field(
        default="inference", description="The most powerful lever pulled; autonomous work is `inference`."
    )


class TrainingRequestArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipe: Literal["sft", "orpo"] = Field(description="`sft` (imitate gold-style answers) or `orpo` (prefer good over own drafts).")
    rationale: str = Field(min_length=10, description="Why the weights, not inference changes, are the next step.")
    evidence: str = Field(min_length=10, description="Which tasks and rubric dimensions fail, with the numbers you saw.")


class ExperimentLogArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(default=20, ge=1, le=200, description="How many of the most recent experiments to show.")


class WorstCasesArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunTaskArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: str = Field(min_length=1, max_length=80,
                         description="A task id of the training pool, agent_workspace/data/train.jsonl (e.g. t001).")


class ToolSession(BaseModel):
    """What the agent did through the tools during one iteration (read by `ClaudeAgent`)."""

    hypothesis: str | None = None
    method: str | None = None
    lever: str | None = None
    claimed_quality: float | None = None
    evaluations: list[dict] = Field(default_factory=list)
    request_ids: list[int] = Field(default_factory=list)
    calls: list[str] = Field(default_factory=list)
    task_runs: int = 0


def strip_gold(value: Any) -> Any:
    """A copy of `value` without any mapping key that names gold/reference/expected text."""
    if isinstance(value, dict):
        return {
            k: strip_gold(v)
            for k, v in value.items()
            if not any(marker in str(k).lower() for marker in GOLD_KEY_MARKERS)
        }
    if isinstance(value, (list, tuple)):
        return [strip_gold(v) for v in value]
    return value


def _text(text: str, *, error: bool = False) -> dict[str, Any]:
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}]}
    if error:
        result["is_error"] = True
    return result


async def _call(fn, *args):
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    return await result if inspect.isawaitable(result) else result


def _tool_for(model: type[BaseModel], name: str, description: str):
    """Decorator: an SDK tool whose input schema is the pydantic model's and whose handler gets the model."""

    def wrap(handler):
        async def run(args: dict[str, Any]) -> dict[str, Any]:
            try:
                parsed = model.model_validate(args or {})
            except ValidationError as exc:
                return _text(f"invalid arguments for {name}: {exc.errors(include_url=False)}", error=True)
            try:
                return await handler(parsed)
            except Exception as exc:  # a service failure is the agent's information, not the daemon's crash
                log.exception("agent tool %s failed", name)
                return _text(f"{name} failed: {type(exc).__name__}: {exc}", error=True)

        return tool(name, description, model.model_json_schema())(run)

    return wrap


def build_tools(services: Any, session: ToolSession, *, max_evaluations: int = 6,
                worst_cases: list | None = None, max_task_runs: int = 12) -> list:
    """The SDK tools bound to `services`, recording into `session`; `worst_cases` are the prompt's
    (`AgentContext.worst_cases`, `WorstCase` objects)."""
    shown = [strip_gold(case.model_dump(mode="json")) for case in worst_cases or []]

    @_tool_for(EvaluateArgs, "evaluate",
               "Score the current agent_workspace/ on a gate of the frozen ruler. Returns quality (0..1), "
               "per-dimension means, W/T/L and the judge's failure notes for the worst cases. The daemon "
               "re-scores your work itself afterwards; this is for your own feedback.")
    async def evaluate(args: EvaluateArgs):
        session.calls.append("evaluate")
        if len(session.evaluations) >= max_evaluations:
            return _text(f"evaluation limit reached ({max_evaluations} per iteration); record your hypothesis and stop.",
                         error=True)
        result = strip_gold(await _call(services.evaluate, args.gate))
        if not isinstance(result, dict):
            result = {"result": result}
        if result.get("error") and "quality" not in result:  # the service refused (e.g. a sealed gate)
            return _text(f"evaluate failed: {result['error']}", error=True)
        session.evaluations.append(result)
        if isinstance(result.get("quality"), (int, float)):
            session.claimed_quality = float(result["quality"])
        return _text(json.dumps(result, indent=1, default=str))

    @_tool_for(RecordHypothesisArgs, "record_hypothesis",
               "Record this experiment's one hypothesis, the method you applied and the lever type. "
               "Call it once, at the end, then stop.")
    async def record_hypothesis(args: RecordHypothesisArgs):
        session.calls.append("record_hypothesis")
        await _call(services.record_hypothesis, args.hypothesis, args.method, args.lever)
        session.hypothesis, session.method, session.lever = args.hypothesis, args.method, args.lever
        return _text("Recorded. Stop now: the daemon verifies and scores the experiment itself.")

    @_tool_for(TrainingRequestArgs, "request_manual_training",
               "Ask the human supervisor to train an adapter (SFT or ORPO) on the manual track. Use only when "
               "the evidence says inference changes have stopped paying off.")
    async def request_manual_training(args: TrainingRequestArgs):
        session.calls.append("request_manual_training")
        request_id = await _call(services.request_manual_training, args.recipe, args.rationale, args.evidence)
        session.request_ids.append(int(request_id))
        return _text(f"Training request #{request_id} filed for the human supervisor. Carry on with an "
                     "inference experiment or record your hypothesis and stop.")

    @_tool_for(ExperimentLogArgs, "experiment_log",
               "The most recent experiments as markdown: number, status, quality, delta, lever, hypothesis.")
    async def experiment_log(args: ExperimentLogArgs):
        session.calls.append("experiment_log")
        return _text(str(await _call(services.experiment_log, args.n)))

    @_tool_for(WorstCasesArgs, "worst_cases",
               "The current best's worst cases on the full gate (the same cases as in your prompt), as JSON: "
               "task, score, verdict against the reference, the five rubric dimensions, the judge's notes and "
               "the current best's own answer. Never the reference answers.")
    async def worst_cases_tool(args: WorstCasesArgs):
        session.calls.append("worst_cases")
        if not shown:
            return _text("No worst cases recorded for the current best yet (no full-gate evaluation).")
        return _text(json.dumps({"worst_cases": shown}, indent=1))

    @_tool_for(RunTaskArgs, "run_task",
               "Run the current agent_workspace/ pipeline on ONE training-pool task (by id, from "
               "agent_workspace/data/train.jsonl) in the evaluation sandbox and return its answer and trace. "
               "Nothing is judged or recorded. Ruler and holdout tasks are refused.")
    async def run_task(args: RunTaskArgs):
        session.calls.append("run_task")
        if session.task_runs >= max_task_runs:
            return _text(f"run_task limit reached ({max_task_runs} per iteration).", error=True)
        result = strip_gold(await _call(services.run_task, args.task_id))
        if isinstance(result, dict) and result.get("error") and "trace" not in result:  # refused: nothing ran
            return _text(f"run_task refused: {result['error']}", error=True)
        session.task_runs += 1
        return _text(json.dumps(result, indent=1, default=str))

    return [evaluate, record_hypothesis, request_manual_training, experiment_log, worst_cases_tool, run_task]


def build_server(services: Any, session: ToolSession, *, max_evaluations: int = 6, worst_cases: list | None = None):
    """The in-process MCP server config for `ClaudeAgentOptions(mcp_servers={SERVER_NAME: ...})`."""
    tools = build_tools(services, session, max_evaluations=max_evaluations, worst_cases=worst_cases)
    return create_sdk_mcp_server(SERVER_NAME, "1.0.0", tools)
