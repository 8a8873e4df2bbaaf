"""Load and render the research agent's program and per-iteration prompt (`prompts/*.md`).

Templates use `{{name}}` placeholders. Rendering fails loudly on a placeholder with no value, so a
supervisor's edit to a template can not silently ship a literal `{{...}}` to the agent.
The daemon's repository (`config.repo/prompts`) wins; the copy shipped with the package is the
fallback, so a research repository without its own prompts still runs.

`render_for(config, inputs)` is the one renderer of an iteration's first user message: the Claude agent
sends what it returns, and `autoresearch prompt` prints what it returns for the next iteration (the
inputs gathered by `loop.supervisor.context.gather`, the same function the daemon's iteration uses).
The supervisor's active steering notes and their lever focus come first (`{{steering}}`).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, Field

from loop.config import REPO_ROOT, Config
from loop.daemon.experiments import WorstCase
from loop.daemon.requests import RequestView
from loop.errors import InputError
from loop.supervisor.families import FAMILIES
from loop.supervisor.store import NoteView, when

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
    steering: list[NoteView] = Field(default_factory=list)
    training_requests: list[RequestView] = Field(default_factory=list)

    def as_strings(self) -> dict[str, str]:
        return {
            "experiment_number": f"{self.experiment_number:04d}",
            "experiment_log": self.experiment_log.strip() or EMPTY_LOG,
            "failure_notes": self.failure_notes.strip() or EMPTY_NOTES,
            "max_turns": str(self.max_turns),
            "max_minutes": f"{self.max_minutes:g}",
            "max_usd": f"{self.max_usd:.2f}",
            "best_quality": "none yet" if self.best_quality is None else f"{self.best_quality:.3f}",
            "steering": steering_block(self.steering),
            "training_requests": training_requests_block(self.training_requests),
        }


class PromptInputs(BaseModel):
    """What one iteration's prompt is made of (gathered from the record by loop.supervisor.context)."""

    number: int
    recent_log: str = ""
    worst_cases: list[WorstCase] = Field(default_factory=list)  # the incumbent's own answers, judge's notes
    failure_notes: list[str] = Field(default_factory=list)  # one line per worst case, used when no worst_cases
    best_quality: float | None = None
    steering: list[NoteView] = Field(default_factory=list)  # active notes, before this iteration counts
    training_requests: list[RequestView] = Field(default_factory=list)  # open and answered, oldest first


def steering_block(notes: list[NoteView]) -> str:
    """The supervisor's notes and the union of their focus, as the prompt's first section ("" without notes)."""
    if not notes:
        return ""
    lines = ["## The supervisor's steering (read this first)", ""]
    for note in notes:
        span = ("until withdrawn" if note.left is None
                else f"{note.left} experiment(s) left, this one included")
        lines.append(f"- Note {note.id} from {note.author} ({when(note.created_at)}, {span}): {note.text}")
    focus = [name for name in FAMILIES if any(name in note.focus for note in notes)]
    if focus:
        lines += ["", "**Focus:** this iteration, change only these lever families of the step library:"]
        for name in focus:
            knobs = FAMILIES[name].knobs
            lines.append(f"- `{name}`: {FAMILIES[name].lever}"
                         + (f"; its pipeline.toml knobs: {', '.join(knobs)}" if knobs else ""))
    return "\n".join(lines) + "\n"


def training_requests_block(views: list[RequestView]) -> str:
    """Open and answered manual-training requests, each answer as adapter → experiment → quality ("" without)."""
    views = [v for v in views if v.status in ("open", "answered")]
    if not views:
        return ""
    lines = ["## Training requests (the manual track: a human trains, you never do)", ""]
    for v in views:
        head = f"- Request {v.id:04d} ({v.recipe}, {v.status})"
        if v.status == "open":
            lines.append(f"{head}, filed {v.created_at:%Y-%m-%d}: {' '.join(v.rationale.split())[:160]}")
        elif v.adapter_sha256 and v.answer_experiment is not None:
            quality = f"quality {v.answer_quality:.3f}" if v.answer_quality is not None else "no quality"
            lines.append(f"{head}: adapter `{v.adapter_sha256[:12]}` → experiment {v.answer_experiment:04d} "
                         f"({v.answer_status}) → {quality}. Its pointer is in that experiment's "
                         f"`agent_workspace/adapters/`; a pipeline uses it through `[pipeline] adapter_path`.")
        else:
            lines.append(f"{head}: {' '.join((v.answer or '').split())[:160]}")
    return "\n".join(lines) + "\n"


def worst_cases_block(cases: list[WorstCase]) -> str:
    """The incumbent's worst cases: task, score, verdict, dimensions, the judge's notes and the incumbent's
    own answer (never the gold)."""
    blocks = []
    for case in cases:
        verdict = {"gold": "lost to the reference", "tie": "tied with the reference",
                   "candidate": "beat the reference"}.get(case.verdict or "", "no verdict")
        dims = ", ".join(f"{name.replace('_', '-')} {value}" for name, value in case.dims.items() if value is not None)
        lines = [f"### {case.case_id}: {case.task}", "",
                 f"Score {case.score:.3f}, {verdict}" + (f"; {dims}" if dims else "") + "."]
        notes = case.failure_notes.strip() or (f"invalid: {case.invalid_reason}" if case.invalid_reason else "")
        lines.append(f"The judge's notes: {' '.join(notes.split()) or 'none'}")
        if case.answer is not None:
            lines += ["", f"The current best answered: **{case.answer.title}**",
                      *(f"{i}. {q}" for i, q in enumerate(case.answer.questions, 1))]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def bullets(notes: list[str] | str | None) -> str:
    if not notes:
        return ""
    if isinstance(notes, str):
        return notes
    return "\n".join(f"- {note.strip()}" for note in notes if note.strip())


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
                     best_quality: float | None = None, steering: list[NoteView] | None = None,
                     training_requests: list[RequestView] | None = None) -> str:
    """The first user message of one iteration."""
    values = IterationVars(
        steering=list(steering or []),
        training_requests=list(training_requests or []),
        experiment_number=number,
        experiment_log=experiment_log or "",
        failure_notes=failure_notes or "",
        max_turns=config.max_turns,
        max_minutes=round(config.max_agent_seconds / 60, 1),
        max_usd=config.max_agent_usd,
        best_quality=best_quality,
    )
    text = render(template_path(config, ITERATION), values.as_strings())
    return re.sub(r"\n{3,}", "\n\n", text)  # an empty section (no steering) leaves no gap


def render_for(config: Config, inputs: PromptInputs) -> str:
    """The iteration prompt exactly as the agent gets it."""
    worst = worst_cases_block(inputs.worst_cases) if inputs.worst_cases else bullets(inputs.failure_notes)
    return iteration_prompt(config, inputs.number, inputs.recent_log, worst,
                            inputs.best_quality, steering=inputs.steering,
                            training_requests=inputs.training_requests)
