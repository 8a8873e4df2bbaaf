"""Chained calls: draft -> critique (free text) -> revise (guided, exactly n questions)."""

from __future__ import annotations

from .calls import ask_for_answer, dialect_of
from .output import QUESTIONS, answer_schema, parse_answer
from .prompts import load_prompt, render


def format_answer(answer: dict) -> str:
    lines = [f"Title: {answer.get('title', '')}"]
    lines += [f"{i}. {q}" for i, q in enumerate(answer.get("questions", []), 1)]
    return "\n".join(lines)


def critique(model, task: str, draft: dict, *, sampling=None, max_output_tokens=None, adapter=None,
             instructions: str = "system") -> str:
    response = model.respond(render("critique", task=task, draft=format_answer(draft)),
                             instructions=load_prompt(instructions), sampling=sampling,
                             max_output_tokens=max_output_tokens, adapter=adapter, label="critique")
    return (response.text or "").strip()


def revise(model, task: str, draft: dict, notes: str, *, n: int = QUESTIONS, style: str = "array",
           sampling=None, max_output_tokens=None, adapter=None, max_chars: int | None = None,
           instructions: str = "system") -> dict:
    response = model.respond(render("revise", task=task, draft=format_answer(draft), critique=notes, n=n),
                             instructions=load_prompt(instructions), sampling=sampling,
                             schema=answer_schema(n, style, max_chars, dialect_of(model)),
                             max_output_tokens=max_output_tokens, adapter=adapter, label="revise")
    return parse_answer(response, max_chars)


def draft_critique_revise(model, task: str, *, examples: str = "", n: int = QUESTIONS, style: str = "array",
                          sampling=None, max_output_tokens=None, critique_tokens=None, adapter=None,
                          max_chars: int | None = None, instructions: str = "system") -> dict:
    draft = ask_for_answer(model, task, n=n, style=style, examples=examples, sampling=sampling,
                           max_output_tokens=max_output_tokens, adapter=adapter, max_chars=max_chars,
                           instructions=instructions)
    notes = critique(model, task, draft, sampling=sampling, max_output_tokens=critique_tokens or max_output_tokens,
                     adapter=adapter, instructions=instructions)
    revised = revise(model, task, draft, notes, n=n, style=style, sampling=sampling,
                     max_output_tokens=max_output_tokens, adapter=adapter, max_chars=max_chars,
                     instructions=instructions)
    return revised if len(revised["questions"]) == n else draft
