"""Manual-training requests: the agent asks, a human answers.

A request lives twice: as a `TrainingRequest` row (the record) and as `<repo>/requests/NNNN.md` (what
the human reads, with the recipe, the rationale, the evidence and how to answer). Filing one sends a
`training_request` notification. Answering (`answer_request`) updates both.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from loop.config import Config
from loop.db.models import Experiment, TrainingRequest, utcnow
from loop.db.session import session_scope
from loop.daemon.notify import notify

log = logging.getLogger(__name__)

Recipe = Literal["sft", "orpo"]
Status = Literal["open", "answered", "declined"]

RECIPE_STEPS = {
    "sft": "Build SFT data from the training pool's gold-style answers (`agent_workspace/data/`), "
           "never from `ruler/`.",
    "orpo": "Build ORPO pairs: training-pool gold as *chosen*, the current best pipeline's own drafts "
            "for the same tasks as *rejected*.",
}


class NewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipe: Recipe
    rationale: str = Field(min_length=1)
    evidence: str = Field(min_length=1)
    experiment_number: int | None = None


class RequestView(BaseModel):
    """One request as the CLI and digest show it."""

    id: int
    experiment_number: int | None
    recipe: str
    rationale: str
    evidence: str
    status: str
    answer: str | None
    path: str | None
    created_at: datetime
    answered_at: datetime | None
    adapter_sha256: str | None = None  # request → adapter → experiment → quality
    answer_experiment: int | None = None
    answer_quality: float | None = None  # that experiment's quality (read from it, never copied)
    answer_status: str | None = None  # that experiment's status (kept, discarded, invalid, ...)

    @classmethod
    def of(cls, row: TrainingRequest, experiment: Experiment | None = None) -> "RequestView":
        view = cls.model_validate(row, from_attributes=True)
        if experiment is not None:
            view = view.model_copy(update={"answer_quality": experiment.quality, "answer_status": experiment.status})
        return view


def requests_dir(config: Config) -> Path:
    return config.repo / "requests"


def request_path(config: Config, request_id: int) -> Path:
    return requests_dir(config) / f"{request_id:04d}.md"


def render_request(view: RequestView) -> str:
    """The markdown file a human reads and answers."""
    experiment = f"{view.experiment_number:04d}" if view.experiment_number is not None else "(none)"
    lines = [
        f"# Training request {view.id:04d}: {view.recipe.upper()}",
        "",
        f"- Status: **{view.status}**",
        f"- Recipe: `{view.recipe}`",
        f"- Raised by experiment: {experiment}",
        f"- Filed: {view.created_at.isoformat(timespec='seconds')}",
        "",
        "## Rationale",
        "",
        view.rationale.strip(),
        "",
        "## Evidence",
        "",
        view.evidence.strip(),
        "",
        "## How to answer",
        "",
        "This is the manual training track: the agent can only ask, a human trains.",
        "",
        f"1. {RECIPE_STEPS.get(view.recipe, 'Build the training data from the training pool.')}",
        "2. Train the adapter: portable, a LoRA with peft on CPU converted for llama.cpp (GGUF); Apple, the "
        "data in the adapter toolkit's JSONL format and the toolkit's training commands (`.fmadapter`).",
        "3. Drop the adapter into `adapters/inbox/`: the daemon evaluates it as an interactive experiment.",
        f"4. Close this request: `autoresearch requests --answer {view.id} --text \"what you did\"` "
        f"(or `--decline`).",
    ]
    if view.answer is not None:
        stamp = view.answered_at.isoformat(timespec="seconds") if view.answered_at else ""
        lines += ["", f"## Answer ({view.status}, {stamp})", "", view.answer.strip()]
        if view.adapter_sha256:
            quality = f"{view.answer_quality:.4f}" if view.answer_quality is not None else "no score"
            lines += ["", f"Adapter `{view.adapter_sha256[:12]}` → experiment "
                          f"{view.answer_experiment:04d} ({view.answer_status or '?'}) → quality {quality}"]
    return "\n".join(lines) + "\n"


def _write(config: Config, view: RequestView) -> Path:
    path = request_path(config, view.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(render_request(view), encoding="utf-8")
    tmp.replace(path)
    return path


def create_request(config: Config, recipe: str, rationale: str, evidence: str,
                   experiment_number: int | None = None, *, send: bool = True) -> int:
    """File a request: DB row, `requests/NNNN.md`, `training_request` notification. Returns its id."""
    new = NewRequest(recipe=recipe, rationale=rationale, evidence=evidence, experiment_number=experiment_number)
    with session_scope(config) as session:
        linked = new.experiment_number
        if linked is not None and session.get(Experiment, linked) is None:
            log.warning("training request names experiment %s, which is not in the record", linked)
            linked = None
        row = TrainingRequest(experiment_number=linked, recipe=new.recipe, rationale=new.rationale,
                              evidence=new.evidence, status="open", created_at=utcnow())
        session.add(row)
        session.flush()
        view = RequestView.of(row).model_copy(update={"experiment_number": new.experiment_number})
        path = _write(config, view)
        row.path = str(path.relative_to(config.repo))
        request_id = row.id
    if send:
        notify(config, "training_request",
               f"Training request {request_id:04d} ({new.recipe}) from experiment "
               f"{new.experiment_number if new.experiment_number is not None else '-'}: {_first_line(new.rationale)}",
               {"request": request_id, "recipe": new.recipe, "path": str(path)},
               experiment_number=new.experiment_number)
    return request_id


def answer_request(config: Config, request_id: int, text: str, *, status: Status = "answered",
                   adapter_sha256: str | None = None, answer_experiment: int | None = None) -> RequestView:
    """Record a human's answer (or decline) and rewrite the request file; an adapter's answer names the
    adapter and the experiment that evaluated it."""
    if status == "open":
        raise ValueError("an answer closes a request: status must be `answered` or `declined`")
    if not text.strip():
        raise ValueError("the answer text is empty")
    with session_scope(config) as session:
        row = session.get(TrainingRequest, request_id)
        if row is None:
            raise LookupError(f"no training request {request_id}")
        row.status, row.answer, row.answered_at = status, text, utcnow()
        row.adapter_sha256, row.answer_experiment = adapter_sha256, answer_experiment
        session.flush()
        view = RequestView.of(row, session.get(Experiment, answer_experiment) if answer_experiment else None)
        if row.path is None:
            row.path = str(request_path(config, request_id).relative_to(config.repo))
    _write(config, view)
    return view


def list_requests(config: Config, status: str | None = None) -> list[RequestView]:
    with session_scope(config) as session:
        query = select(TrainingRequest).order_by(TrainingRequest.id)
        if status is not None:
            query = query.where(TrainingRequest.status == status)
        return [RequestView.of(row, session.get(Experiment, row.answer_experiment) if row.answer_experiment
                               is not None else None) for row in session.scalars(query)]


def _first_line(text: str, limit: int = 140) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
