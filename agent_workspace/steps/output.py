"""Schema-forced output: the runner's guided generation makes the model emit JSON of this shape.

- style "array": {"title", "questions": [exactly n strings]} (minItems = maxItems = n)
- style "slots": {"title", "q1" .. "qn"}: one named slot per topic, so the model cannot merge two
Over-generation (8+ then trim) asks for n > 7 and prunes afterwards (see cleanup.py).

The schemas fit the runner's schema dialect (`model.dialect`, from the runner's probe): a keyword the
dialect lacks is left out and enforced after decoding instead (`parse_answer`: empty strings dropped,
strings cut to `max_chars`). Apple's dialect has no minLength/maxLength; llama's has everything.
With no dialect known (None), the full JSON Schema form is used.
"""

from __future__ import annotations

import json
import re

QUESTIONS = 7
STYLES = ("array", "slots")


def supports(dialect, keyword: str) -> bool:
    """May a schema for this dialect use `keyword`? (unknown dialect: yes, full JSON Schema)"""
    return dialect is None or dialect.allows(keyword)


def _text(max_chars: int | None, dialect=None) -> dict:
    schema = {"type": "string"}
    if supports(dialect, "minLength"):
        schema["minLength"] = 1
    if max_chars and supports(dialect, "maxLength"):
        schema["maxLength"] = max_chars
    return schema


def answer_schema(n: int = QUESTIONS, style: str = "array", max_chars: int | None = None, dialect=None) -> dict:
    if style == "slots":
        slots = {f"q{i}": _text(max_chars, dialect) for i in range(1, n + 1)}
        return {"type": "object", "properties": {"title": _text(max_chars, dialect), **slots},
                "required": ["title", *slots], "additionalProperties": False}
    if style != "array":
        raise ValueError(f"schema style must be one of {STYLES}, not {style!r}")
    return {"type": "object",
            "properties": {"title": _text(max_chars, dialect),
                           "questions": {"type": "array", "items": _text(max_chars, dialect),
                                         "minItems": n, "maxItems": n}},
            "required": ["title", "questions"], "additionalProperties": False}


def fit_length(text: str, max_chars: int | None) -> str:
    """`text` cut to at most max_chars at a word boundary (a question keeps its '?')."""
    if not max_chars or len(text) <= max_chars:
        return text
    mark = "?" if text.rstrip().endswith("?") else ""
    room = max(1, max_chars - len(mark))
    cut = text[:room]
    if " " in cut.strip() and not text[room:room + 1].isspace():
        cut = cut[:cut.rstrip().rfind(" ")]
    return cut.rstrip(" ,;:-") + mark


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


def parse_answer(response, max_chars: int | None = None) -> dict:
    """{"title", "questions"} from a guided (array or slots) or free-text response; empty strings
    dropped and every string cut to max_chars (what a dialect without minLength/maxLength leaves to us)."""
    data = response_json(response)
    if isinstance(data, dict):
        title = str(data.get("title", "")).strip()
        if isinstance(data.get("questions"), list):
            questions = [str(q).strip() for q in data["questions"]]
        else:
            keys = sorted((k for k in data if re.fullmatch(r"q\d+", k)), key=lambda k: int(k[1:]))
            questions = [str(data[k]).strip() for k in keys]
        answer = {"title": title, "questions": [q for q in questions if q]}
    else:
        answer = parse_text_answer(getattr(response, "text", "") or "")
    return {"title": fit_length(answer["title"], max_chars),
            "questions": [fit_length(q, max_chars) for q in answer["questions"]]}


def parse_text_answer(text: str) -> dict:
    """Fallback for free text: first line is the title, question-like lines are the questions."""
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return {"title": "", "questions": []}
    return {"title": lines[0].removeprefix("Title:").strip(), "questions": [l for l in lines[1:] if "?" in l]}


def trim(questions: list[str], n: int = QUESTIONS) -> list[str]:
    return list(questions[:n])
