"""Schema-forced output: the runner's guided generation makes the model emit JSON of this shape.

- style "array": {"title", "questions": [exactly n strings]} (minItems = maxItems = n)
- style "slots": {"title", "q1" .. "qn"}: one named slot per topic, so the model cannot merge two
Over-generation (8+ then trim) asks for n > 7 and prunes afterwards (see cleanup.py).
"""

from __future__ import annotations

import json
import re

QUESTIONS = 7


def _text(max_chars: int | None) -> dict:
    return {"type": "string", "minLength": 1, **({"maxLength": max_chars} if max_chars else {})}


def answer_schema(n: int = QUESTIONS, style: str = "array", max_chars: int | None = None) -> dict:
    if style == "slots":
        slots = {f"q{i}": _text(max_chars) for i in range(1, n + 1)}
        return {"type": "object", "properties": {"title": _text(max_chars), **slots},
                "required": ["title", *slots], "additionalProperties": False}
    if style != "array":
        raise ValueError(f"schema style must be 'array' or 'slots', not {style!r}")
    return {"type": "object",
            "properties": {"title": _text(max_chars),
                           "questions": {"type": "array", "items": _text(max_chars),
                                         "minItems": n, "maxItems": n}},
            "required": ["title", "questions"], "additionalProperties": False}


def choice_schema(options: list[str]) -> dict:
    return {"type": "object", "properties": {"choice": {"type": "string", "enum": options}},
            "required": ["choice"], "additionalProperties": False}


def response_json(response):
    """The decoded JSON of a response: the runner's parsed `json`, else the text parsed leniently."""
    data = getattr(response, "json_", None)
    if data is not None:
        return data
    text = getattr(response, "text", None) or ""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        match = re.search(r"\{.*\}", text, re.S)
        if match:
            try:
                return json.loads(match.group(0))
            except json.JSONDecodeError:
                pass
    return None


def parse_answer(response) -> dict:
    """{"title", "questions"} from a guided (array or slots) or free-text response."""
    data = response_json(response)
    if isinstance(data, dict):
        title = str(data.get("title", "")).strip()
        if isinstance(data.get("questions"), list):
            questions = [str(q).strip() for q in data["questions"]]
        else:
            keys = sorted((k for k in data if re.fullmatch(r"q\d+", k)), key=lambda k: int(k[1:]))
            questions = [str(data[k]).strip() for k in keys]
        return {"title": title, "questions": [q for q in questions if q]}
    return parse_text_answer(getattr(response, "text", "") or "")


def parse_text_answer(text: str) -> dict:
    """Fallback for free text: first line is the title, question-like lines are the questions."""
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return {"title": "", "questions": []}
    return {"title": lines[0].removeprefix("Title:").strip(), "questions": [l for l in lines[1:] if "?" in l]}


def trim(questions: list[str], n: int = QUESTIONS) -> list[str]:
    return list(questions[:n])
