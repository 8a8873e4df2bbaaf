"""Preference pairs for the training track from the people's labels and the judges' disagreements
(`autoresearch judge export-pairs`), one JSONL row per pair in the row shape of `train data pref`
(`loop.training.data`): id, task, prompt (the chat messages the pipeline's one guided call sends, rendered
by the pipeline itself), prompt_sha256, instructions_sha256, chosen and rejected (each answer as the JSON
the pipeline's schema forces), plus `source` and `labeller`.

Where pairs come from:
- `human`: every label a person gave on a training-pool draft (`human_labels.source = "pool"`) that is
  not a tie; the set they preferred is chosen, the other rejected; the labeller is the person. Labels on
  ruler cases are calibration only and never leave the record: each is refused by name.
- `judge`: drafts (the JSONL `train drafts` writes, read by the training track's own reader) on which the
  named judges disagree with the gold-chosen default of `train data pref`: every judge finds the draft
  better than the pool's gold (verdict "candidate"; for an LLM judge both orders agree). The draft is
  chosen, the gold rejected; the labeller is the judge id(s).

Every pair is checked with the training track's held-out check (`loop.training.leaks.HeldOutCheck`: the
guard's gold index over normalised text and its gold-leak match, and the task against ruler/holdout
tasks) on the task, the chosen and the rejected set; a near-copy is refused, naming the pair and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from loop.config import Config
from loop.errors import InputError
from loop.schemas import Answer, Case
from loop.training.data import POOL, Refused
from loop.training.render import answer_json, sha256_text


class PreferencePair(BaseModel):
    id: str  # "<pool id>/human/<label id>" or "<pool id>/judge/<draft n>"
    task: str
    prompt: list[dict[str, str]]
    prompt_sha256: str
    instructions_sha256: str | None
    chosen: str
    rejected: str
    source: Literal["human", "judge"]
    labeller: str


class PairsReport(BaseModel):
    out: str
    dry_run: bool
    written: int
    human: int
    judge: int
    ties: int  # human labels that were ties (no preference to export)
    drafts_judged: int
    drafts_not_better: int  # drafts some judge did not find better than gold (the default pair covers them)
    drafts_judge_errors: int  # drafts a judge failed on (never exported: an error is no verdict)
    refused: list[Refused]


@dataclass(frozen=True)
class Proposal:
    id: str
    case: Case
    chosen: Answer
    rejected: Answer
    source: str
    labeller: str


def pool_cases(config: Config) -> dict[str, Case]:
    from loop.ruler_files import load_cases

    return {c.id: c for c in load_cases(Path(config.workspace_dir) / POOL)}


def human_proposals(config: Config, pool: dict[str, Case]) -> tuple[list[Proposal], list[Refused], int]:
    from loop.db.models import HumanLabel
    from loop.db.session import session_scope

    proposals, refused, ties = [], [], 0
    with session_scope(config) as db:
        for label in db.scalars(select(HumanLabel).order_by(HumanLabel.id)):
            pid = f"{label.case_id}/human/{label.id}"
            if label.source != "pool":
                refused.append(Refused(id=pid, reason=f"a label on ruler case {label.case_id}: calibration only, "
                                                      "it never leaves the record"))
            elif label.case_id not in pool:
                refused.append(Refused(id=pid, reason=f"no task {label.case_id!r} in the training pool {POOL}"))
            elif label.verdict == "tie":
                ties += 1
            else:
                case, draft = pool[label.case_id], Answer.model_validate(label.candidate)
                chosen, rejected = (draft, case.gold) if label.verdict == "candidate" else (case.gold, draft)
                proposals.append(Proposal(pid, case, chosen, rejected, "human", label.author))
    return proposals, refused, ties


def read_drafts(path: Path, pool: dict[str, Case]) -> tuple[dict[str, Answer], list[Refused]]:
    """The drafts file through the training track's own reader; drafts of tasks outside the pool refused."""
    from loop.training.data import load_drafts

    try:
        drafts = load_drafts(Path(path), pick="first")
    except (json.JSONDecodeError, ValidationError, KeyError, TypeError) as exc:
        raise InputError(path, f"not a drafts file (one JSON object with `id` and `answer` a line): {exc}") from None
    refused = [Refused(id=f"{i}/judge", reason=f"no task {i!r} in the training pool {POOL}")
               for i in drafts if i not in pool]
    return {i: a for i, a in drafts.items() if i in pool}, refused


def judge_proposals(pool: dict[str, Case], drafts: dict[str, Answer], judges: list, *, concurrency: int = 1,
                    log=print) -> tuple[list[Proposal], int, int]:
    """Drafts every judge finds better than the pool's gold (through the one re-judging path); and how
    many drafts were not better, and how many a judge failed on."""
    from loop.judges.agreement import StoredCandidate, rejudge

    if not judges:
        raise ValueError("judge pairs need at least one judge")
    items = [StoredCandidate(case=pool[i], candidate=a, evaluation_id=0, experiment_number=None)
             for i, a in sorted(drafts.items())]
    better, failed = [True] * len(items), [False] * len(items)
    for judge in judges:
        log(f"judging {len(items)} draft(s) against the pool's gold with {judge.judge_id}")
        parallel = concurrency if judge.judge_id.startswith(("anthropic:", "panel:")) else 1
        for n, judgement in enumerate(rejudge(judge, items, parallel)):
            failed[n] = failed[n] or judgement.error is not None
            better[n] = better[n] and judgement.error is None and judgement.verdict == "candidate"
    labeller = "+".join(j.judge_id for j in judges)
    proposals = [Proposal(f"{s.case.id}/judge/{n}", s.case, s.candidate, s.case.gold, "judge", labeller)
                 for n, s in enumerate(items) if better[n]]
    return proposals, sum(not b and not f for b, f in zip(better, failed)), sum(failed)


def to_pair(renderer, proposal: Proposal, workspace: Path) -> PreferencePair:
    call = renderer.render(proposal.case.task, proposal.chosen)
    if call.error or call.calls != 1:
        raise InputError(workspace / "pipeline.toml", f"the pipeline must answer {proposal.case.id} with ONE guided "
                         f"call to render preference data; it made {call.calls} ({call.error or 'no error'})")
    prompt = ([{"role": "system", "content": call.instructions}] if call.instructions else []) + \
             [{"role": "user", "content": call.prompt}]
    return PreferencePair(id=proposal.id, task=proposal.case.task, prompt=prompt,
                          prompt_sha256=sha256_text(call.prompt),
                          instructions_sha256=sha256_text(call.instructions or ""), chosen=call.answer_text,
                          rejected=answer_json(proposal.rejected, call.schema), source=proposal.source,
                          labeller=proposal.labeller)


def export_pairs(config: Config, out: Path, *, drafts: Path | None = None, judges: list | None = None,
                 dry_run: bool = False, embedder="default", log=print) -> PairsReport:
    """Collect, check and render the pairs; write them to `out` unless `dry_run`. Nothing in the record changes."""
    from loop.adapters.store import open_store
    from loop.training.leaks import HeldOutCheck
    from loop.training.render import PipelineRenderer

    pool = pool_cases(config)
    proposals, refused, ties = human_proposals(config, pool)
    judged = not_better = errors = 0
    if drafts is not None:
        found, unknown = read_drafts(drafts, pool)
        refused += unknown
        by_judge, not_better, errors = judge_proposals(pool, found, judges or [], log=log,
                                                       concurrency=config.judge_concurrency)
        proposals += by_judge
        judged = len(found)
    if embedder == "default":
        from loop.daemon.guard import default_embedder

        embedder = default_embedder()
    check = HeldOutCheck(config.ruler_dir, embedder)
    kept = []
    for p in proposals:
        problem = check.problem(p.case.task, p.chosen) or check.problem(p.case.task, p.rejected)
        if problem:
            refused.append(Refused(id=p.id, reason=problem))
            log(f"refused {p.id} ({p.case.task!r}): {problem}")
        else:
            kept.append(p)
    pairs: list[PreferencePair] = []
    if kept:
        workspace = Path(config.workspace_dir)
        with PipelineRenderer(workspace, sandbox=config.sandbox, adapter_store=open_store(config)) as renderer:
            for n, p in enumerate(kept, 1):
                pairs.append(to_pair(renderer, p, workspace))
                log(f"rendered {n}/{len(kept)} pair(s)")
    if not dry_run:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text("".join(p.model_dump_json() + "\n" for p in pairs), encoding="utf-8")
    return PairsReport(out=str(out), dry_run=dry_run, written=0 if dry_run else len(pairs),
                       human=sum(p.source == "human" for p in pairs), judge=sum(p.source == "judge" for p in pairs),
                       ties=ties, drafts_judged=judged, drafts_not_better=not_better,
                       drafts_judge_errors=errors, refused=refused)

