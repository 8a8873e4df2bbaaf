"""Rendering the frozen judge prompt templates in `ruler/judge_prompts/`.

Each template starts with an HTML-comment banner (stripped). Sections between `<!-- if:coverage -->`
and `<!-- end:coverage -->` are kept in judge mode "standard" and dropped in "coverage-blind";
`<!-- if:blind -->` sections are the reverse. Placeholders `{task}`, `{set_a}`, `{set_b}` are
replaced literally (no str.format, so braces elsewhere are safe).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from loop.schemas import Answer

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "ruler" / "judge_prompts"
MODES = ("standard", "coverage-blind")
_BANNER = re.compile(r"\A\s*<!--.*?-->\s*\n", re.DOTALL)
_SECTION = re.compile(r"<!-- if:(\w+) -->\n(.*?)<!-- end:\1 -->\n", re.DOTALL)


def _active_sections(mode: str) -> set[str]:
    if mode not in MODES:
        raise ValueError(f"unknown judge mode {mode!r}; known: {', '.join(MODES)}")
    return {"coverage"} if mode == "standard" else {"blind"}


@lru_cache(maxsize=16)
def template(name: str, mode: str = "standard", prompts_dir: Path = PROMPTS_DIR) -> str:
    """The template `name` (e.g. "system") for `mode`, banner stripped, sections resolved."""
    text = (prompts_dir / f"{name}.md").read_text(encoding="utf-8")
    text = _BANNER.sub("", text, count=1)
    active = _active_sections(mode)
    text = _SECTION.sub(lambda m: m.group(2) if m.group(1) in active else "", text)
    if "<!--" in text:
        raise ValueError(f"{name}.md: unbalanced section markers")
    return text.strip() + "\n"


def format_set(answer: Answer) -> str:
    lines = [f"Title: {answer.title.strip()}"]
    lines += [f"{i}. {q.strip()}" for i, q in enumerate(answer.questions, 1)]
    return "\n".join(lines)


def render(name: str, mode: str, *, task: str, set_a: Answer, set_b: Answer, prompts_dir: Path = PROMPTS_DIR) -> str:
    text = template(name, mode, Path(prompts_dir))
    values = {"{task}": task.strip(), "{set_a}": format_set(set_a), "{set_b}": format_set(set_b)}
    # one pass, so a placeholder-looking string inside a task or answer is never substituted again
    return re.sub(r"\{task\}|\{set_a\}|\{set_b\}", lambda m: values[m.group(0)], text)
