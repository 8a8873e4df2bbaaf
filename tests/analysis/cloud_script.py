"""The scripted cloud models of the ceiling tests: each Claude model id answers the pipeline's one guided
call with its own seven questions for the task named in the prompt (`Task: ...`, agent_workspace/prompts/draft.md)."""

from __future__ import annotations

import json
import re

from tests.support.anthropic_server import Reply, text_reply

STRONG, WEAK = "claude-strong-test-1", "claude-weak-test-1"
TASK = re.compile(r"^Task: (.+)$", re.MULTILINE)


def questions(model: str, task: str) -> list[str]:
    topic = task.rstrip(".").lower()
    if model == STRONG:
        return [f"Where are you starting from for {topic}?", f"How many people are involved in {topic}?",
                f"Which dates or deadline apply to {topic}?", f"What total budget can you spend on {topic}?",
                f"What outcome matters most to you in {topic}?", f"Which constraints must {topic} respect?",
                f"What have you already done toward {topic}?"]
    return ["What is it about?", "When?", "Why?", "Anything else?", "Who?", "How?", "Where?"]


def reply(body: dict) -> Reply:
    """A /v1/messages body -> the answer of `body["model"]`, as JSON text (the schema-forced output)."""
    prompt = body["messages"][-1]["content"]
    prompt = prompt if isinstance(prompt, str) else " ".join(block.get("text", "") for block in prompt)
    task = TASK.search(prompt).group(1).strip()
    answer = {"title": f"Plan: {task}", "questions": questions(body["model"], task)}
    return text_reply(json.dumps(answer), usage={"input_tokens": 100, "output_tokens": 80})
