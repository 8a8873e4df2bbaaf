"""Prompt templates live as files in `agent_workspace/prompts/NAME.md`; `{placeholder}`s are filled
by `render`. Only named placeholders are replaced, so JSON braces in a template are left alone."""

from __future__ import annotations

import functools
import re
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@functools.lru_cache(maxsize=None)
def load_prompt(name: str, prompts_dir: Path = PROMPTS_DIR) -> str:
    path = prompts_dir / f"{name}.md"
    if not path.exists():
        raise FileNotFoundError(f"prompt template {path} does not exist")
    return path.read_text().strip()


def render(name: str, prompts_dir: Path = PROMPTS_DIR, **values) -> str:
    template = load_prompt(name, prompts_dir)
    missing = set(re.findall(r"\{(\w+)\}", template)) - set(values)
    if missing:
        raise KeyError(f"prompt {name!r} needs {sorted(missing)}")
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), template)
