"""Judges side by side in one run: ladder accuracy, seconds per judged case, agreement (raw, Cohen's
kappa with its bootstrap 95 % interval) between each pair of judges on the same candidates, the LLM
judge's position-flip rate, and the replay runner's template answers against the real portable-model
baseline on the same gate, both judged by proxy v2.

Candidates: the judge sanity suite's ladders (5 tasks of our own x 6 rungs = 30 sets, a known order).
The proxies judge all 30. The local LLM judge (the config's `local_judge_model`, qwen1.5b by default)
is slow on two cores, so it judges the first BENCH_JUDGES_LOCAL_LADDERS ladders (default 1: 6 sets,
12 requests); its full-gate wall time is estimated from its seconds per case x 30. Set the variable
to 0 to leave it out. A model that is not fetched is named, and its figures left out.

The replay-vs-baseline figure evaluates the shipped agent_workspace on BENCH_JUDGES_GATE (default dev)
twice into a scratch record: replay runner (template answers) and llama runner on the config's model.
BENCH_JUDGES_BASELINE=0 leaves it out. Decision (issue 12): "clearly below" is at least 0.05 quality.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loop.config import REPO_ROOT, Config, load_config
from loop.judges.agreement import compare
from loop.schemas import CaseJudgement
from loop.testing.judge_ladders import RUNGS, Ladder, ladder_pairs, ladders
from ruler.scoring import pairwise_score, rubric_score

LADDER_GATE = 0.90
CLEARLY_BELOW = 0.05
FULL_GATE_CASES = 30


@dataclass
class JudgeRun:
    name: str
    judge_id: str
    judgements: list[CaseJudgement]  # in the order of the (ladder, rung) pairs judged
    seconds_per_case: float
    ladders: int


def contribution(j: CaseJudgement) -> float:
    """A case's contribution to quality: 0.5 x pairwise + 0.5 x rubric (the frozen formula, one case)."""
    return 0.5 * pairwise_score(j.verdict) + 0.5 * rubric_score(j.dims)


def judge_ladders(name: str, judge, chosen: list[Ladder]) -> JudgeRun:
    judge.judge(chosen[0].case, chosen[0].sets[RUNGS[0]])  # warm-up (model load) is not a per-case cost
    started = time.perf_counter()
    out = [judge.judge(ladder.case, ladder.sets[rung]) for ladder in chosen for rung in RUNGS]
    per_case = (time.perf_counter() - started) / len(out)
    return JudgeRun(name, judge.judge_id, out, per_case, len(chosen))


def report_run(run: JudgeRun, chosen: list[Ladder]) -> None:
    errors = sum(j.error is not None for j in run.judgements)
    print(f"judges_{run.name}_id: {run.judge_id}")
    print(f"judges_{run.name}_cases: {len(run.judgements)}  errors: {errors}")
    print(f"judges_{run.name}_s_per_case: {run.seconds_per_case:.3f}")
    if run.name.startswith("local"):
        print(f"judges_{run.name}_full_gate_wall_s_estimated: {run.seconds_per_case * FULL_GATE_CASES:.0f}  "
              f"({FULL_GATE_CASES} cases x s_per_case, one request at a time)")
    if errors:
        print(f"judges_{run.name}_ladder: n/a ({errors} judge error(s))")
    else:
        it = iter(run.judgements)
        scores = {ladder.case.id: {rung: contribution(next(it)) for rung in RUNGS} for ladder in chosen}
        right, total, _ = ladder_pairs(scores)
        gate = f"  (test gate >= {LADDER_GATE:.0%})" if run.name == "proxy_v2" else "  (a figure, no gate)"
        print(f"judges_{run.name}_ladder_pairs_ordered: {right}/{total} = {right / total:.1%}{gate}")
    judged = [j for j in run.judgements if j.error is None and j.verdict_candidate_first and j.verdict_gold_first]
    if judged and run.name.startswith("local"):
        flips = sum(j.verdict_candidate_first != j.verdict_gold_first for j in judged)
        print(f"judges_{run.name}_position_flip_rate: {flips}/{len(judged)} = {flips / len(judged):.1%}")


def report_agreement(a: JudgeRun, b: JudgeRun) -> None:
    n = min(len(a.judgements), len(b.judgements))
    measures, left_out = compare(a.judgements[:n], b.judgements[:n])
    key = f"judges_agree_{a.name}_vs_{b.name}"
    print(f"{key}_candidates: {n}  left_out: {left_out}")
    for m in measures:
        kappa = "n/a" if m.kappa is None else f"{m.kappa:.3f}"
        band = "n/a" if m.low is None else f"[{m.low:.2f}, {m.high:.2f}]"
        print(f"{key}_{m.measure}: raw {m.raw:.1%}  kappa {kappa} ({m.weights})  95% {band}")


def local_judge_run(config: Config, chosen: list[Ladder]) -> JudgeRun | None:
    from loop import models
    from loop.judges.local_judge import LocalJudge

    spec = models.REGISTRY[config.local_judge_model]
    path = models.models_dir() / spec.name / spec.main_file
    if not path.exists():
        print(f"judges_local_skipped: {path} not fetched "
              f"(autoresearch models fetch --model {spec.name})")
        return None
    with LocalJudge(config) as judge:
        return judge_ladders(f"local_{spec.name}", judge, chosen)


def replay_vs_baseline(config: Config, gate: str) -> None:
    """The template answers of the replay runner and the real baseline, same gate, same judge (proxy v2)."""
    from loop import models
    from loop.db.session import upgrade
    from loop.evaluate import evaluate
    from loop.judges.proxy_v2 import ProxyV2Judge

    spec = models.REGISTRY[config.model]
    path = models.models_dir() / spec.name / spec.main_file
    if not path.exists():
        print(f"judges_baseline_skipped: {path} not fetched (autoresearch models fetch --model {spec.name})")
        return
    judge = ProxyV2Judge()
    quality = {}
    with tempfile.TemporaryDirectory() as tmp:
        for runner in ("replay", "llama"):
            cfg = load_config(REPO_ROOT, database_url=f"sqlite:///{Path(tmp) / 'record.sqlite'}", runner=runner,
                              model=config.model, judge="proxy")
            upgrade(cfg)
            report = evaluate(cfg, gate, judge=judge, progress=False, use_cache=False)
            quality[runner] = report.summary.quality
            print(f"judges_{gate}_{runner}_quality: {report.summary.quality:.3f}  "
                  f"(W/T/L {report.summary.wins}/{report.summary.ties}/{report.summary.losses}, "
                  f"scored {report.summary.scored_cases}, wall {report.wall_s:.0f} s)")
    gap = quality["llama"] - quality["replay"]
    verdict = "clearly below" if gap >= CLEARLY_BELOW else "NOT clearly below"
    print(f"judges_{gate}_baseline_minus_replay: {gap:+.3f}  (target >= {CLEARLY_BELOW}; {verdict}; "
          f"baseline = {spec.name} on the shipped agent_workspace, judge {judge.judge_id})")


def main() -> None:
    from loop.judges.proxy import ProxyJudge
    from loop.judges.proxy_v2 import ProxyV2Judge

    config = load_config(REPO_ROOT)
    every = ladders()
    v2 = judge_ladders("proxy_v2", ProxyV2Judge(), every)
    v1 = judge_ladders("proxy_v1", ProxyJudge(), every)
    runs = [v2, v1]
    local_count = int(os.environ.get("BENCH_JUDGES_LOCAL_LADDERS", "1"))
    if local_count > 0:
        local = local_judge_run(config, every[:local_count])
        runs += [local] if local else []
    print(f"judges_setup: {len(every)} ladders x {len(RUNGS)} rungs of our own tasks; "
          f"local judge on {local_count} ladder(s)")
    for run in runs:
        report_run(run, every[:run.ladders])
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            report_agreement(a, b)
    if os.environ.get("BENCH_JUDGES_BASELINE", "1") != "0":
        replay_vs_baseline(config, os.environ.get("BENCH_JUDGES_GATE", "dev"))
