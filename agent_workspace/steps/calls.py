"""One guided model call returning {"title", "questions"}: the unit most strategies are built on.

The schema fits the runner's dialect (`model.dialect`); what the dialect cannot say (non-empty,
max_chars) is enforced by `parse_answer` after decoding."""

from __future__ import annotations

from .output import QUESTIONS, answer_schema, parse_answer
from .prompts import load_prompt, render


def dialect_of(model):
    """The schema dialect of the runner behind `model` (None when unknown)."""
    return getattr(model, "dialect", None)


def ask_for_answer(model, task: str, *, n: int = QUESTIONS, style: str = "array", examples: str = "",
                   sampling: dict | None = None, max_output_tokens: int | None = None,
                   adapter: dict | None = None, instructions: str = "system", prompt: str = "draft",
                   label: str = "draft", max_chars: int | None = None) -> dict:
    response = model.respond(
        render(prompt, task=task, n=n, examples=examples),
        instructions=load_prompt(instructions), sampling=sampling,
        schema=answer_schema(n, style, max_chars, dialect_of(model)), max_output_tokens=max_output_tokens,
        adapter=adapter, label=label)
    return parse_answer(response, max_chars)
