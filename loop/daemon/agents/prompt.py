"""Load and render the research agent's program and per-iteration prompt (`prompts/*.md`).

Templates use `{{name}}` placeholders. Rendering fails loudly on a placeholder with no value, so a
supervisor's edit to a template can not silently ship a literal `{{...}}` to the agent.
The daemon's repository (`config.repo/prompts`) wins; the copy shipped with the package is the
fallback, so a research repository without its own prompts still runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from loop.config import REPO_ROOT, Config
from loop.errors import InputError

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
PROGRAM = "program.md"
ITERATION = "iteration.md"
EMPTY_LOG = "_No experiments yet: this is the first one after the baseline._"
EMPTY_NOTES = "_No failure notes recorded for the current best yet._"


class IterationVars(BaseModel):
    """The values the iteration template is filled with."""

    experiment_number: int
    experiment_log: str = ""
    failure_notes: str = ""
    max_turns: int = Field(ge=1)
    max_minutes: float
    max_usd: float
    best_quality: float | None = None

    def as_strings(self) -> dict[str, str]:
        return {
            "experiment_number": f"{self.experiment_number:04d}",
            "experiment_log": self.experiment_log.strip() or EMPTY_LOG,
            "failure_notes": self.failure_notes.strip() or EMPTY_NOTES,
            "max_turns": str(self.max_turns),
            "max_minutes": f"{self.max_minutes:g}",
            "max_usd": f"{self.max_usd:.2f}",
            "best_quality": "none yet" if self.best_quality is None else f"{self.best_quality:.3f}",
        }


def template_path(config: Config, name: str) -> Path:
    for root in (config.repo / "prompts", REPO_ROOT / "prompts"):
        if (root / name).is_file():
            return root / name
    raise InputError(config.repo / "prompts" / name, "prompt template missing")


def render(path: Path, values: dict[str, str]) -> str:
    text = path.read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), 1):
        for match in PLACEHOLDER.finditer(line):
            if match.group(1) not in values:
                raise InputError(path, f"unknown placeholder {{{{{match.group(1)}}}}}", line=number)
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def program(config: Config) -> str:
    """The standing research program (appended to Claude Code's system prompt)."""
    return render(template_path(config, PROGRAM), {})


def iteration_prompt(config: Config, number: int, experiment_log: str = "", failure_notes: str = "",
                     best_quality: float | None = None) -> str:
    """The first user message of one iteration."""
    values = IterationVars(
        experiment_number=number,
        experiment_log=experiment_log or "",
        failure_notes=failure_notes or "",
        max_turns=config.max_turns,
        max_minutes=round(config.max_agent_seconds / 60, 1),
        max_usd=config.max_agent_usd,
        best_quality=best_quality,
    )
    return render(template_path(config, ITERATION), values.as_strings())
