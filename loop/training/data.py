"""`autoresearch train data sft|pref`: training examples from the training pool only.

SFT: task → the pool's gold answer, as chat messages with exactly the instructions and prompt the
pipeline's single guided call sends (rendered by the pipeline itself, `render.py`) and the answer as
the JSON its schema forces. Preference: the same prompt, the gold as `chosen`, the pipeline's own
draft (from `train drafts`: the task's lowest-scored one) as `rejected`. Every example is checked
against ruler and holdout (`leaks.py`); refused ones are named. A deterministic train/eval split and `data_card.json` beside.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ValidationError

from loop.errors import InputError
from loop.ruler_files import load_cases
from loop.schemas import Answer
from loop.training.leaks import HeldOutCheck
from loop.training.render import PipelineRenderer, answer_json, sha256_text

POOL = Path("data") / "train.jsonl"  # relative to the workspace
CARD = "data_card.json"


class Refused(BaseModel):
    id: str
    reason: str


class DataCard(BaseModel):
    kind: Literal["sft", "pref"]
    request: int
    recipe: str  # the request's recipe
    counts: dict[str, int]  # train, eval, refused
    refused: list[Refused]
    pool: str
    pool_sha256: str
    pipeline_commit: str | None
    workspace: str
    base_model: dict
    instructions_sha256: str | None
    schema_sha256: str | None
    probe_task: str  # registration re-renders this task and compares its prompt sha256
    probe_prompt_sha256: str
    created_at: str


def split_of(example_id: str, eval_share: float) -> str:
    bucket = int(hashlib.sha256(example_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "eval" if bucket < eval_share else "train"


def load_request(config, request_id: int):
    from loop.db.models import TrainingRequest
    from loop.db.session import session_scope

    with session_scope(config) as db:
        row = db.get(TrainingRequest, request_id)
        if row is None:
            raise LookupError(f"no training request {request_id} in the record (see `autoresearch requests --all`)")
        return row.recipe


def _commit(repo: Path) -> str | None:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    return out.stdout.strip() or None if out.returncode == 0 else None


def build(config, kind: str, request_id: int, out_dir: Path, *, workspace: Path | None = None,
          commit: str | None = None, eval_share: float = 0.1, limit: int | None = None, embedder="default", drafts: Path | None = None,
          log=print) -> DataCard:
    from loop.adapters.register import base_model_of
    from loop.adapters.store import open_store

    recipe = load_request(config, request_id)
    workspace = Path(workspace or config.workspace_dir)
    pool_path = workspace / POOL
    cases = load_cases(pool_path)[:limit]
    rejected_by_id = load_drafts(drafts) if kind == "pref" else {}
    if embedder == "default":
        from loop.daemon.guard import default_embedder

        embedder = default_embedder()
    check = HeldOutCheck(config.ruler_dir, embedder)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {"train": [], "eval": []}
    refused: list[Refused] = []
    instructions_sha = schema_sha = None
    with PipelineRenderer(workspace, sandbox=config.sandbox, adapter_store=open_store(config)) as renderer:
        for case in cases:
            problem = check.problem(case.task, case.gold)
            if problem:
                refused.append(Refused(id=case.id, reason=problem))
                log(f"refused {case.id} ({case.task!r}): {problem}")
                continue
            if kind == "pref" and case.id not in rejected_by_id:
                continue
            call = renderer.render(case.task, case.gold)
            if call.error or call.calls != 1:
                raise InputError(workspace / "pipeline.toml", f"the pipeline must answer {case.id} with ONE guided "
                                 f"call to render training data; it made {call.calls} ({call.error or 'no error'})")
            instructions_sha = sha256_text(call.instructions or "")
            schema_sha = sha256_text(json.dumps(call.schema, sort_keys=True)) if call.schema else None
            prompt = ([{"role": "system", "content": call.instructions}] if call.instructions else []) + \
                     [{"role": "user", "content": call.prompt}]
            row = {"id": case.id, "task": case.task, "prompt_sha256": sha256_text(call.prompt),
                   "instructions_sha256": instructions_sha}
            if kind == "sft":
                row["messages"] = [*prompt, {"role": "assistant", "content": call.answer_text}]
            else:
                draft = rejected_by_id[case.id]
                row.update(prompt=prompt, chosen=call.answer_text,
                           rejected=answer_json(draft, call.schema))
            rows[split_of(case.id, eval_share)].append(row)
        if not rows["train"]:
            raise InputError(pool_path, "no training example survived (all refused, or no drafts for pref data)")
        probe = rows["train"][0]
    for split, items in rows.items():
        (out_dir / f"{split}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in items))
    card = DataCard(kind=kind, request=request_id, recipe=recipe,
                    counts={"train": len(rows["train"]), "eval": len(rows["eval"]), "refused": len(refused)},
                    refused=refused, pool=str(pool_path), pool_sha256=hashlib.sha256(pool_path.read_bytes()).hexdigest(),
                    pipeline_commit=commit or _commit(workspace),
                    workspace=f"{commit}:agent_workspace" if commit else str(workspace),
                    base_model=base_model_of(config).model_dump(), instructions_sha256=instructions_sha,
                    schema_sha256=schema_sha, probe_task=probe["task"], probe_prompt_sha256=probe["prompt_sha256"],
                    created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    (out_dir / CARD).write_text(card.model_dump_json(indent=2) + "\n")
    return card


def read_card(data_dir: Path) -> DataCard:
    path = Path(data_dir) / CARD
    if not path.exists():
        raise InputError(path, "no data card: build the data with `autoresearch train data sft|pref` first")
    return DataCard.model_validate_json(path.read_text())


def load_drafts(path: Path | None, *, pick: Literal["worst", "first"] = "worst") -> dict[str, Answer]:
    """The drafts file `train drafts` writes (one JSON object a line: `id`, `answer`, and `score`, the proxy
    judge's quality of that one answer) as one answer per pool task: the lowest-scored draft that has an
    answer (`worst`, the rejected side of `train data pref`), or the first one in the file (`first`).
    A line that is not a draft is refused naming it."""
    if path is None or not Path(path).exists():
        raise InputError(path or Path("drafts.jsonl"), "preference data needs the pipeline's own drafts: run "
                                                        "`autoresearch train drafts` first and pass --drafts")
    best: dict[str, tuple[float, Answer]] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            answer = Answer.model_validate(item["answer"]) if item.get("answer") else None
            score = item.get("score")
            rank = float(score) if score is not None and pick == "worst" else float("inf")
            draft_id = str(item["id"])
        except (json.JSONDecodeError, ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(path, f"not a drafts file (one JSON object with `id` and `answer` a line): "
                                   f"{str(exc).splitlines()[0]}", line=number) from None
        if answer is not None and (draft_id not in best or rank < best[draft_id][0]):
            best[draft_id] = (rank, answer)
    return {i: answer for i, (_, answer) in best.items()}
