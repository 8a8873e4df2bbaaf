"""A new model line and the incumbent's adapter: an adapter locked to the old base model is never scored.

An adapter is trained for one base model. When a new model line opens (`lines.open_new_line`) and the
incumbent's pipeline uses an adapter that cannot load on the new base (`AdapterFit`: the new runner
reports `adapters_supported: false`; the adapter's format is not the new backend's; the base model the
adapter was trained on, the pointer's `base_model.signature` (Apple) or `base_model.sha256` (a GGUF
file), is not the one the runner reports now), the new line starts from the best ADAPTER-FREE pipeline
of the old line: the newest kept experiment of that line whose committed pipeline names no adapter
(kept experiments only ever improve on their parent), re-scored on the new model. Its content is
committed on top of the research tip (`StartPlan.start_commit`), so the research branch only moves
forward, and one training request is filed for the new base (never twice for one line).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy import select

from loop.adapters.pointer import AdapterPointer, is_pointer_path
from loop.db.models import Experiment, TrainingRequest
from loop.db.session import session_scope
from loop.runners.protocol import Backend

log = logging.getLogger("loop.daemon")
WORKSPACE = "agent_workspace"
BACKEND_FORMAT = {"llama": "gguf-lora", "apple": "fmadapter", "mock": "fmadapter"}


@dataclass(frozen=True)
class AdapterUse:
    """The adapter a committed pipeline names (`[pipeline] adapter_path`) and its pointer, if it has one."""

    path: str
    pointer: AdapterPointer | None
    problem: str | None = None  # why the pointer could not be read


@dataclass(frozen=True)
class AdapterCheck:
    adapter: str
    locked: bool  # the adapter cannot load on the new base model
    reason: str


def adapter_use(git, commit: str) -> AdapterUse | None:
    """What adapter the pipeline committed in `commit` uses; None for an adapter-free pipeline."""
    text = git.file_at(commit, f"{WORKSPACE}/pipeline.toml")
    if text is None:
        return None
    try:
        path = (tomllib.loads(text).get("pipeline", {}).get("adapter_path") or "").strip()
    except tomllib.TOMLDecodeError:
        return None  # an unreadable pipeline.toml is the evaluation's error to report, not an adapter
    if not path:
        return None
    if not is_pointer_path(path) or path.startswith("/"):
        return AdapterUse(path, None, "a raw adapter path names no base model")
    raw = git.file_at(commit, f"{WORKSPACE}/{path}")
    if raw is None:
        return AdapterUse(path, None, f"its pointer {path} is not in the commit")
    try:
        return AdapterUse(path, AdapterPointer.model_validate_json(raw))
    except ValidationError as exc:
        return AdapterUse(path, None, f"its pointer {path} is malformed ({exc.errors()[0]['msg']})")


def _same(a: str, b: str) -> bool:
    """Signatures are reported at different lengths (Apple's probe: a 7-hex prefix)."""
    a, b = a.lower(), b.lower()
    return a.startswith(b) or b.startswith(a)


class AdapterFit:
    """Can the adapter a pipeline uses load on `backend`? A typed answer with its reason."""

    def check(self, use: AdapterUse, backend: Backend) -> AdapterCheck:
        name = use.path
        if backend.adapters_supported is False:
            return AdapterCheck(name, True, f"the {backend.name} runner reports adapters_supported: false")
        if use.pointer is None:
            return AdapterCheck(name, True, f"{use.problem}, so it cannot be shown to fit the new base model")
        pointer, base = use.pointer, use.pointer.base_model
        wanted = BACKEND_FORMAT.get(backend.name)
        if wanted and pointer.format != wanted:
            return AdapterCheck(name, True, f"a {pointer.format} adapter cannot load on the {backend.name} backend")
        if base.signature:
            now = backend.base_model_signature
            if not now:
                return AdapterCheck(name, True, f"it was trained for base model signature {base.signature[:12]}; "
                                                "the new runner reports no base-model signature")
            if not _same(base.signature, now):
                return AdapterCheck(name, True, f"it was trained for base model signature {base.signature[:12]}; "
                                                f"the new runner's base model is {now[:12]}")
        if base.sha256 and backend.name == "llama" and backend.model_version \
                and not _same(base.sha256, backend.model_version):
            return AdapterCheck(name, True, f"it was trained for base model {base.name} (sha256 {base.sha256[:12]}); "
                                            f"the new runner loads {backend.model} ({backend.model_version[:12]})")
        return AdapterCheck(name, False, "its base model is the new runner's")


def best_adapter_free(config, git, ruler_id: str, model_line: str) -> Experiment | None:
    """The newest kept experiment of a line under this ruler whose committed pipeline uses no adapter."""
    with session_scope(config) as db:
        rows = list(db.scalars(select(Experiment).where(
            Experiment.status == "kept", Experiment.ruler_id == ruler_id, Experiment.model_line == model_line,
            Experiment.commit.is_not(None)).order_by(Experiment.number.desc())))
    return next((row for row in rows if adapter_use(git, row.commit) is None), None)


@dataclass(frozen=True)
class StartPlan:
    """Where a new line starts when the incumbent's adapter is locked to the old base model."""

    check: AdapterCheck
    start_number: int | None  # the adapter-free experiment of the old line (None: the old line has none)
    start_commit: str | None  # its content committed on top of the research tip
    request_id: int

    @property
    def words(self) -> str:
        start = (f"the new line starts from experiment {self.start_number:04d}, the best adapter-free pipeline"
                 if self.start_number is not None else "the old line has no adapter-free pipeline to start from")
        return (f"adapter {self.check.adapter} cannot load on the new model ({self.check.reason}): {start}; "
                f"training request {self.request_id:04d} filed for the new base")


def plan_start(resources, change, ruler_id: str, research_tip: str) -> StartPlan | None:
    """None when the incumbent uses no adapter, or one that fits the new base model."""
    git, config = resources.git, resources.config
    use = adapter_use(git, research_tip)
    if use is None:
        return None
    backend = change.probe or resources.runner.probe()
    check = AdapterFit().check(use, backend)
    if not check.locked:
        log.info("%s: adapter %s still fits (%s)", change.words, use.path, check.reason)
        return None
    start = best_adapter_free(config, git, ruler_id, change.before.line_key())
    start_commit = None
    if start is not None:
        start_commit = git.commit_tree_of(start.commit, research_tip, (
            f"model line: start from experiment {start.number:04d} (adapter-free)\n\n{change.words}; the "
            f"incumbent's adapter {use.path} cannot load on the new model: {check.reason}.\n"))
    request_id = file_request(config, change, use, check, start)
    plan = StartPlan(check, start.number if start else None, start_commit, request_id)
    log.warning("%s: %s", change.words, plan.words)
    return plan


def file_request(config, change, use: AdapterUse, check: AdapterCheck, start: Experiment | None) -> int:
    """One training request for the new base model (an open one for the same new line is reused)."""
    from loop.daemon.requests import create_request

    marker = f"new model line {change.after.line_key()}"
    with session_scope(config) as db:
        for row in db.scalars(select(TrainingRequest).where(TrainingRequest.status == "open")):
            if marker in row.evidence:
                return row.id
    recipe = use.pointer.recipe if use.pointer else "sft"
    filed_as = recipe if recipe in ("sft", "orpo") else "orpo"  # the request track knows sft and orpo
    base = change.after.base_model_signature or change.after.label()
    rationale = (f"The model changed ({change.words[len('model changed '):]}). The best pipeline (experiment "
                 f"{change.incumbent_number:04d}) uses adapter {use.path}, which cannot load on the new model: "
                 f"{check.reason}. Train it again ({recipe}) for the new base model {base}."
                 + (f" Until then the new line starts from experiment {start.number:04d}, the best "
                    "adapter-free pipeline of the old line." if start else ""))
    evidence = (f"{marker} (from line {change.before.line_key()}); best quality on the old line "
                f"{change.incumbent_quality:.4f}; the adapter's pointer: "
                f"{use.pointer.model_dump_json() if use.pointer else use.problem}")
    return create_request(config, filed_as, rationale, evidence, experiment_number=change.incumbent_number)
