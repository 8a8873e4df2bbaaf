"""Scripted research-agent conversations for the real Claude Code CLI against `ScriptedAnthropicServer`.

    handler = scripted_agent_handler("edit_and_evaluate")
    with ScriptedAnthropicServer(handler) as server:
        ...  # run ClaudeAgent (or `autoresearch run --once --agent claude`) with anthropic_base_url=server.base_url

The handler answers each /v1/messages request with the next scripted turn: step k is chosen by the
number of assistant turns already in the conversation, so a retried request gets the same answer.
It learns the agent's working directory from the CLI's environment block ("Primary working
directory: ..."), unless `worktree` is given, so the daemon's end-to-end tests can use it without
knowing where the worktree will be. Requests that do not offer the autoresearch tools (side requests
of the CLI) get a plain text answer. Scenarios:

- `edit_and_evaluate`: Read a prompt file under agent_workspace/prompts/, Edit it (Write a new note
  when there is none), call evaluate(dev), record_hypothesis, stop.
- `write_ruler`: try to Write ruler/tasks.jsonl and to Read it (both must be denied), then stop.
- `copy_gold`: Write the ruler's gold questions into agent_workspace/data/leak.jsonl (allowed: it is
  inside the workspace; the daemon's guard must then mark the experiment invalid), record, stop.
- `request_training`: read the experiment log, request_manual_training(orpo), record, stop.
- `endless`: keep calling evaluate forever (for turn-cap tests).
- `look_first`: worst_cases, run_task on the first training-pool task, run_task on the first ruler task
  (must be refused), record_hypothesis, stop.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Callable, Literal, get_args

from tests.support.anthropic_server import Reply, text_reply, tool_use_reply

Scenario = Literal["edit_and_evaluate", "write_ruler", "copy_gold", "request_training", "endless", "look_first"]
SCENARIOS: tuple[str, ...] = get_args(Scenario)
Step = tuple[str, dict]
WORKDIR = re.compile(r"Primary working directory:\s*(\S+)")
MCP = "mcp__autoresearch__"
EDIT_MARK = "Before writing, name the unknowns that decide the plan: who is going, from where, budget, dates."
HYPOTHESIS = "Naming the decision-critical unknowns in the instructions raises coverage."
FINAL_TEXT = "Done: one hypothesis tested and recorded."


def _texts(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _texts(item)]
    if isinstance(value, dict):
        return [t for key in ("text", "content") if key in value for t in _texts(value[key])]
    return []


def working_directory(body: dict) -> Path | None:
    """The CLI's working directory, read from the environment block it sends."""
    for text in _texts(body.get("system")) + _texts(body.get("messages")):
        match = WORKDIR.search(text)
        if match:
            return Path(match.group(1))
    return None


def gold_questions(worktree: Path, cases: int = 3) -> list[dict]:
    """The first gold answers of `<worktree>/ruler/tasks.jsonl` (the test side may read the ruler)."""
    from loop.ruler_files import load_cases

    return [{"task": c.task, "title": c.gold.title, "questions": c.gold.questions}
            for c in load_cases(worktree / "ruler" / "tasks.jsonl")[:cases]]


def first_id(path: Path) -> str:
    """The id of the first case of a JSONL case file (the test side may read the ruler)."""
    from loop.ruler_files import load_cases

    return load_cases(path)[0].id


def _prompt_file(worktree: Path, prompt_file: str | None) -> Path | None:
    if prompt_file:
        return worktree / prompt_file
    folder = worktree / "agent_workspace" / "prompts"
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".md", ".txt")) if folder.is_dir() else []
    return found[0] if found else None


def _edit_steps(worktree: Path, step: int, prompt_file: str | None) -> Step | None:
    target = _prompt_file(worktree, prompt_file)
    record = ("record_hypothesis", {"hypothesis": HYPOTHESIS, "method": "Added one instruction line to the drafting "
                                    "prompt that names the decision-critical unknowns.", "lever": "inference"})
    if target is None or not target.exists():
        note = worktree / "agent_workspace" / "prompts" / "agent_note.md"
        steps: list[Step] = [("Write", {"file_path": str(note), "content": EDIT_MARK + "\n"}),
                             (MCP + "evaluate", {"gate": "dev"}), (MCP + record[0], record[1])]
        return steps[step] if step < len(steps) else None
    if step == 0:
        return ("Read", {"file_path": str(target)})
    if step == 1:
        lines = [line for line in target.read_text().splitlines() if line.strip()]
        old = lines[0] if lines else ""
        if not old:
            return ("Write", {"file_path": str(target), "content": EDIT_MARK + "\n"})
        return ("Edit", {"file_path": str(target), "old_string": old, "new_string": old + "\n" + EDIT_MARK})
    tail: list[Step] = [(MCP + "evaluate", {"gate": "dev"}), (MCP + record[0], record[1])]
    return tail[step - 2] if step - 2 < len(tail) else None


def _steps(scenario: str, worktree: Path, step: int, *, prompt_file: str | None, gold: list[dict] | None) -> Step | None:
    if scenario == "edit_and_evaluate":
        return _edit_steps(worktree, step, prompt_file)
    if scenario == "write_ruler":
        steps: list[Step] = [
            ("Write", {"file_path": str(worktree / "ruler" / "tasks.jsonl"), "content": '{"id": "easy"}\n'}),
            ("Read", {"file_path": str(worktree / "ruler" / "tasks.jsonl")}),
        ]
    elif scenario == "copy_gold":
        rows = gold if gold is not None else gold_questions(worktree)
        content = "".join(json.dumps(row) + "\n" for row in rows)
        steps = [
            ("Write", {"file_path": str(worktree / "agent_workspace" / "data" / "leak.jsonl"), "content": content}),
            (MCP + "record_hypothesis", {"hypothesis": "Retrieval examples close to the test tasks raise coverage.",
                                         "method": "Added examples to the retrieval pool.", "lever": "inference"}),
        ]
    elif scenario == "request_training":
        steps = [
            (MCP + "experiment_log", {"n": 5}),
            (MCP + "request_manual_training", {
                "recipe": "orpo",
                "rationale": "Ten inference experiments left coverage at 3; imitation (SFT) never moved it.",
                "evidence": "Coverage 3.0 on 8 of 10 dev cases; misses departure city and party size.",
            }),
            (MCP + "record_hypothesis", {"hypothesis": "Preference training on own drafts is needed for coverage.",
                                         "method": "Filed an ORPO training request; no pipeline change.",
                                         "lever": "orpo"}),
        ]
    elif scenario == "look_first":
        steps = [
            (MCP + "worst_cases", {}),
            (MCP + "run_task", {"task_id": first_id(worktree / "agent_workspace" / "data" / "train.jsonl")}),
            (MCP + "run_task", {"task_id": first_id(worktree / "ruler" / "tasks.jsonl")}),
            (MCP + "record_hypothesis", {"hypothesis": "Looking at the worst cases first shows what to change.",
                                         "method": "Read the worst cases and ran one pool task; no change.",
                                         "lever": "inference"}),
        ]
    elif scenario == "endless":
        return (MCP + "evaluate", {"gate": "dev"})
    else:
        raise ValueError(f"unknown scenario {scenario!r}")
    return steps[step] if step < len(steps) else None


class ScriptedAgent:
    """The handler object: callable with a request body, returns the scripted `Reply`."""

    def __init__(self, scenario: Scenario, *, worktree: Path | None = None, prompt_file: str | None = None,
                 gold: list[dict] | None = None, usage: dict | None = None):
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}; expected one of {', '.join(SCENARIOS)}")
        self.scenario = scenario
        self.worktree = Path(worktree) if worktree else None
        self.prompt_file = prompt_file
        self.gold = gold
        self.usage = usage
        self.sent: list[Step] = []  # the tool calls scripted so far, in order
        self.side_requests = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict) -> Reply:
        tools = [t.get("name", "") for t in body.get("tools") or []]
        if not any(name.startswith(MCP) for name in tools):
            with self._lock:
                self.side_requests += 1
            return text_reply("ok", usage=self.usage)
        worktree = self.worktree or working_directory(body)
        if worktree is None:
            raise RuntimeError("cannot find the agent's working directory in the request")
        step = sum(1 for m in body.get("messages", []) if m.get("role") == "assistant")
        planned = _steps(self.scenario, worktree, step, prompt_file=self.prompt_file, gold=self.gold)
        if planned is None:
            return text_reply(FINAL_TEXT, usage=self.usage)
        name, tool_input = planned
        with self._lock:
            self.sent.append(planned)
        return tool_use_reply(name, tool_input, tool_id=f"toolu_{self.scenario[:10]}_{step:03d}", usage=self.usage)


def scripted_agent_handler(scenario: Scenario, **kwargs) -> Callable[[dict], Reply]:
    """A `ScriptedAnthropicServer` handler playing one research-agent scenario (see module doc)."""
    return ScriptedAgent(scenario, **kwargs)
