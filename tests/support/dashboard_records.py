"""Realistic synthetic records for the dashboard's tests and benchmark (deterministic for a seed).

`populate(url, n)` writes N experiments through the ORM (bulk inserts, so 10,000 x 30 cases take
seconds): statuses kept/discarded/invalid/crashed (one `running` at the end when asked), levers
inference/sft/orpo, operators autonomous/interactive, judge reasoning, a diff, a trace SVG, training
requests open and answered, and two ruler ids (the first quarter under the old one). Every scored
experiment has one official full-gate evaluation with 30 case results; with `dev_gate=True` some also
have a dev-gate evaluation (10 cases) before it. Crashed experiments have no evaluation and no ruler.
`write_ruler(dir)` writes a matching ruler (tasks.jsonl + gates.toml) for the gold sets.
`add_references(db)` adds the cloud ceiling: a full-gate reference per `CLOUD_MODELS` under RULER_NEW.
Case traces change shape in eras of ten experiments (`trace_for`): single shots, ensembles, chains,
clean-up steps; sft/orpo experiments call an adapter (`ADAPTER_SHA`), for the tile wall.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from loop.db.models import CaseResult, Evaluation, Experiment, Ruler, TrainingRequest
from loop.db.session import session_scope, upgrade
from ruler.scoring import MODE_DIMENSIONS

DIMS = MODE_DIMENSIONS["standard"]  # the ruler's rubric dimensions
TASKS = [
    "Plan a trip to Paris", "Write my resume", "Organise a birthday party", "Learn to play guitar",
    "Renovate the kitchen", "Start a vegetable garden", "Train for a marathon", "Adopt a dog",
    "Buy a used car", "Plan a wedding", "Launch a podcast", "Move to a new city", "Write a novel",
    "Set up a home office", "Prepare for a job interview", "Host a dinner party", "Learn Spanish",
    "Plan a camping trip", "Start a small business", "Create a monthly budget", "Redesign my website",
    "Plan a family reunion", "Get fit at home", "Write a grant proposal", "Teach my kid to swim",
    "Organise my garage", "Plan a product launch", "Build a gaming PC", "Apply to graduate school",
    "Plan a retirement party",
]
CASE_IDS = [f"r{i:02d}" for i in range(1, 31)]
DEV_IDS = ["r01", "r02", "r04", "r07", "r10", "r14", "r18", "r20", "r24", "r27"]
RULER_OLD, RULER_NEW = "a" * 63 + "1", "b" * 63 + "2"
REASONS = [
    "Set A covers the decision-critical unknowns (budget, dates, party size) while set B asks about {t}.",
    "Both sets are natural, but the candidate misses where the user starts from, which drives every "
    "later choice; the gold set asks it first.",
    "The candidate asks two questions in one slot and repeats the timing question; gold is cleaner.",
    "Tie: both sets cover scope, constraints and timeline; phrasing differs but usefulness is equal.",
]
DIFF = """diff --git a/agent_workspace/pipeline.toml b/agent_workspace/pipeline.toml
--- a/agent_workspace/pipeline.toml
+++ b/agent_workspace/pipeline.toml
@@ -3,4 +3,4 @@
 [knobs.temperature]
-default = 0.7
+default = 0.0
 # <b>not bold</b> & friends
@@ -20,6 +20,9 @@ def generate(task, model):
""" + "".join(f"+    # step {i}: over-generate eight questions, then drop the nearest pair by embedding\n" for i in range(30))
TRACE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="460" height="160" viewBox="0 0 460 160">
<script>document.title = "pwned"</script>
<rect x="50" y="20" width="360" height="46" fill="#dbeafe" stroke="#1d4ed8"/>
<text x="60" y="48" font-family="sans-serif" font-size="13">draft (412 -> 96 tok, 3,912 ms)</text>
<rect x="50" y="90" width="360" height="46" fill="#ecfccb" stroke="#4d7c0f" stroke-dasharray="6 3"/>
<text x="60" y="118" font-family="sans-serif" font-size="13">trim to 7 (2 ms)</text>
""" + "".join(f'<!-- call {i}: model response text kept for the tooltip, as real traces do -->\n' for i in range(40)) + "</svg>"


ADAPTER_SHA = {"sft": "5f" * 32, "orpo": "0e" * 32, "dpo": "d0" * 32}
ERAS = (  # (kind, label, count) stages of an inference pipeline, by era of ten experiments
    (("model", "draft", 1),),
    (("model", "candidate", 5), ("model", "pick", 1), ("step", "dedupe", 1)),
    (("model", "draft", 1), ("model", "critique", 1), ("model", "revise", 1), ("step", "trim to 7", 1)),
    (("model", "draft", 1), ("step", "dedupe", 1), ("step", "coverage check", 1)),
)


def trace_for(number: int, lever: str) -> list[dict]:
    """The trace every case of experiment `number` records (small: no prompts or texts)."""
    if lever in ADAPTER_SHA:
        sha = ADAPTER_SHA[lever]
        adapter = {"path": f"/store/objects/{sha[:2]}/{sha}.gguf", "format": "gguf-lora", "sha256": sha}
        stages = (("adapter", "draft", 1), ("step", "trim to 7", 1))
    else:
        adapter, stages = None, ERAS[(number // 10) % len(ERAS)]
    events = []
    for kind, label, count in stages:
        for i in range(count):
            failed = kind == "model" and label == "candidate" and number % 10 == 5 and i == 0
            event = {"kind": kind, "label": label, "latency_ms": 900.0 if kind != "step" else 2.0, "ok": not failed}
            if kind != "step":
                event.update(input_tokens=400, output_tokens=96, adapter=adapter if kind == "adapter" else None)
            events.append(event)
    return events


def gold_questions(task: str) -> list[str]:
    return [f"What is your budget for '{task}'?", "When do you need it done?", "Who else is involved?",
            "What have you already tried?", "What constraints must be respected?",
            "What would success look like?", "Where will this take place?"]


def write_ruler(ruler_dir: Path) -> Path:
    """A ruler directory whose tasks.jsonl holds the 30 tasks above with gold sets."""
    ruler_dir.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": cid, "task": task, "gold": {"title": f"Gold: {task}", "questions": gold_questions(task)}})
             for cid, task in zip(CASE_IDS, TASKS)]
    (ruler_dir / "tasks.jsonl").write_text("\n".join(lines) + "\n")
    (ruler_dir / "gates.toml").write_text(f"[dev]\nids = {json.dumps(DEV_IDS)}\n\n[full]\nids = \"all\"\n")
    return ruler_dir


@dataclass
class Generated:
    """What was written, for tests to compare against."""

    statuses: dict[str, dict[str, int]] = field(default_factory=dict)  # ruler id -> status -> count
    reasoning: dict[int, str] = field(default_factory=dict)  # experiment -> reasoning text of its case r01
    unscored: int = 0  # experiments without a ruler id (crashed before scoring)


def _status(rng: random.Random, number: int) -> str:
    if number == 1:
        return "kept"
    return rng.choices(["kept", "discarded", "invalid", "crashed"], weights=[12, 70, 8, 10])[0]


def _cases(rng: random.Random, eval_id: int, base: float, ids: list[str], number: int, leak: bool,
           lever: str = "inference") -> list[dict]:
    rows, trace = [], trace_for(number, lever)
    for cid in ids:
        task = TASKS[CASE_IDS.index(cid)]
        dims = {d: max(1, min(5, round(rng.gauss(1 + 4 * base, 0.8)))) for d in DIMS}
        first = rng.choices(["candidate", "tie", "gold"], weights=[base, 0.4, 1 - base])[0]
        second = first if rng.random() < 0.8 else rng.choice(["candidate", "tie", "gold"])
        rows.append(dict(
            evaluation_id=eval_id, case_id=cid, task=task,
            candidate={"title": task, "questions": [f"Q{k} about {task.lower()} (exp {number})?" for k in range(1, 8)]},
            verdict_candidate_first=first, verdict_gold_first=second, verdict=first if first == second else "tie",
            reasoning=f"Experiment {number}, case {cid}: " + rng.choice(REASONS).format(t="colours"),
            failure_notes="misses the departure city" if first == "gold" else "", gold_leak=leak and cid == "r03",
            trace=trace, latency_ms=rng.uniform(2000, 6000),
            **dims,
        ))
    return rows


def _summary(rows: list[dict]) -> dict:
    score = {"candidate": 1.0, "tie": 0.5, "gold": 0.0}
    p = sum(score[r["verdict"]] for r in rows) / len(rows)
    r_ = sum((sum(r[d] for d in DIMS) / len(DIMS) - 1) / 4 for r in rows) / len(rows)
    return dict(quality=0.5 * p + 0.5 * r_, pairwise=p, rubric=r_,
                dims={d: sum(x[d] for x in rows) / len(rows) for d in DIMS},
                wins=sum(r["verdict"] == "candidate" for r in rows), ties=sum(r["verdict"] == "tie" for r in rows),
                losses=sum(r["verdict"] == "gold" for r in rows))


def populate(url: str, n: int, *, seed: int = 7, dev_gate: bool = True, running: bool = False,
             requests: bool = True, batch: int = 500) -> Generated:
    """Write N experiments (plus rulers, evaluations, cases, training requests) into the record at `url`."""
    upgrade(url)
    rng = random.Random(seed)
    out = Generated()
    start = datetime(2026, 11, 20, 22, 0, tzinfo=timezone.utc)
    with session_scope(url) as db:
        for rid, judge in ((RULER_OLD, "proxy:minilm-l6-int8/1"), (RULER_NEW, "anthropic:claude-sonnet-4-6")):
            if db.get(Ruler, rid) is None:
                db.add(Ruler(id=rid, judge_id=judge, files={"tasks.jsonl": "0" * 64}, created_at=start))
        db.flush()
        incumbent: dict[str, tuple[int, float]] = {}  # ruler -> (number, quality)
        eval_id, exps, evals, cases = 0, [], [], []
        for number in range(1, n + 1):
            ruler = RULER_OLD if number <= max(1, n // 4) else RULER_NEW
            status = "running" if running and number == n else _status(rng, number)
            lever = rng.choices(["inference", "sft", "orpo"], weights=[80, 15, 5])[0]
            operator = "autonomous" if lever == "inference" and rng.random() < 0.95 else "interactive"
            parent = incumbent.get(ruler, (None, 0.25))
            when = start + timedelta(minutes=12 * number)
            exp = dict(number=number, parent=parent[0], status=status, step="recorded", lever=lever,
                       operator=operator, agent="claude" if operator == "autonomous" else "adapter",
                       hypothesis=f"Hypothesis {number}: forcing eight questions then trimming raises coverage.",
                       method=f"Method {number}: changed the schema to 8 slots and pruned the nearest pair.",
                       reason={"invalid": "gold leak: output near-copies gold", "crashed": "runner died"}.get(status),
                       agent_cost_usd=round(rng.uniform(0.05, 1.9), 3), agent_turns=rng.randint(3, 40),
                       diff=DIFF, trace_svg=TRACE_SVG, started_at=when, finished_at=when + timedelta(minutes=11),
                       commit=f"{number:040x}")
            if status in ("crashed", "running"):
                exps.append(exp)
                out.unscored += 1
                out.statuses.setdefault("", {}).setdefault(status, 0)
                out.statuses[""][status] += 1
                continue
            base = min(0.95, max(0.05, parent[1] + rng.gauss(0.0, 0.05) + (0.04 if status == "kept" else -0.01)))
            if dev_gate and number % 3 == 0:
                eval_id += 1
                evals.append(dict(id=eval_id, experiment_number=number, kind="official", gate="dev", ruler_id=ruler,
                                  judge_id="j", workspace_hash="w", created_at=when, **_summary(
                                      dev := _cases(rng, eval_id, base, DEV_IDS, number, False, lever))))
                cases += dev
            eval_id += 1
            rows = _cases(rng, eval_id, base, CASE_IDS, number, status == "invalid", lever)
            summary = _summary(rows)
            if status == "kept" and summary["quality"] <= parent[1] and parent[0] is not None:
                status = exp["status"] = "discarded"
            evals.append(dict(id=eval_id, experiment_number=number, kind="official", gate="full", ruler_id=ruler,
                              judge_id="j", workspace_hash="w", created_at=when, **summary))
            cases += rows
            out.reasoning[number] = rows[0]["reasoning"]
            exp.update(ruler_id=ruler, judge_id="j", gate="full", quality=summary["quality"], dims=summary["dims"],
                       wins=summary["wins"], ties=summary["ties"], losses=summary["losses"],
                       delta=summary["quality"] - parent[1])
            if status == "kept":
                incumbent[ruler] = (number, summary["quality"])
            out.statuses.setdefault(ruler, {}).setdefault(status, 0)
            out.statuses[ruler][status] += 1
            exps.append(exp)
            if len(exps) >= batch:
                _flush(db, exps, evals, cases)
        _flush(db, exps, evals, cases)
        if requests:
            db.add(TrainingRequest(experiment_number=min(2, n), recipe="sft", rationale="Coverage is stuck at 3.",
                                   evidence="r01, r05: coverage 2", status="answered", answer="adapter sft-003 trained",
                                   path="adapters/sft-003", answered_at=start + timedelta(hours=3),
                                   adapter_sha256="ab" * 32,
                                   answer_experiment=max((k for k, _ in incumbent.values()), default=None)))
            db.add(TrainingRequest(experiment_number=n, recipe="orpo", rationale="Prefer high-coverage sets.",
                                   evidence="losses on r07, r12 (coverage)", status="open"))
    return out


def _flush(db, exps: list[dict], evals: list[dict], cases: list[dict]) -> None:
    for model, rows in ((Experiment, exps), (Evaluation, evals), (CaseResult, cases)):
        if rows:
            db.execute(insert(model), rows)
        rows.clear()


CLOUD_MODELS = ("claude-haiku-4-5", "claude-sonnet-4-6")


def reference_dims(level: float) -> dict[str, float]:
    return {d: level for d in DIMS}


def add_references(db, at: datetime | None = None) -> None:
    """Cloud references (kind `reference`, no experiment) under RULER_NEW: model i has quality 0.6 + 0.05 i,
    dims 4.0 + 0.5 i, W/T/L (3 + i)/18/(9 - i), on the full gate."""
    for i, model in enumerate(CLOUD_MODELS):
        db.add(Evaluation(experiment_number=None, kind="reference", gate="full", ruler_id=RULER_NEW, judge_id="j",
                          workspace_hash="w", runner_backend="cloud", runner_model=model, quality=0.6 + 0.05 * i,
                          dims=reference_dims(4.0 + 0.5 * i), wins=3 + i, ties=18, losses=9 - i,
                          created_at=at or datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)))
