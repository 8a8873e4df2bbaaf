"""Judges side by side in one run: ladder accuracy, seconds per judged case, agreement (raw, Cohen's
kappa with its bootstrap 95 % interval) between each pair of judges on the same candidates, the LLM
judge's position-flip rate, and the replay runner's template answers against the real portable-model
baseline on the same gate, both judged by proxy v2.

Candidates: the judge sanity suite's ladders (5 tasks of our own x 6 rungs = 30 sets, a known order).
The proxies judge all 30. The local LLM judge (the config's `local_judge_model`, qwen1.5b by default)
is slow on two cores, so it judges the first BENCH_JUDGES_LOCAL_LADDERS ladders (default 1: 6 sets,
12 requests); its full-gate wall time is estimated from its seconds per case x 30. Set the variable
to 0 to leave it out. A model that is not fetched is named, and its figures left out.

The replay-vs-baseline figure evaluates the shipped agent_workspace on BENCH_JUDGES_GATE (default full)
twice into a scratch record: replay runner (template answers) and llama runner on the config's model,
both judged by proxy v2. On the full gate the dev-gate figures are read from the same outcomes (the dev
ids are a subset: no second run), and the full gate's valid candidates (template and real) are re-judged
by proxy v1 for the v2-v1 agreement on real candidates beside the ladders'. BENCH_JUDGES_GATE=dev runs the
10 dev cases only; BENCH_JUDGES_BASELINE=0 leaves it out (BENCH_JUDGES_BASELINE=stored judges only the
stored candidates below). Decision (issue 12): "clearly below" is at least 0.05 quality.

Always (seconds, no runner): the same two runners' full-gate candidates as captured once into
tests/support/data/full_gate_candidates.json, judged by the current proxy v2, so a rule change is measured
on exactly the candidates the issue's figures came from, side by side with a fresh run.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loop.config import REPO_ROOT, Config, load_config
from loop.judges.agreement import compare
from loop.schemas import CaseJudgement, CaseOutcome
from tests.support.judge_ladders import RUNGS, Ladder, ladder_pairs, ladders
from ruler.scoring import pairwise_score, rubric_score, summarize

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


def report_agreement(a: JudgeRun, b: JudgeRun, key: str | None = None) -> None:
    n = min(len(a.judgements), len(b.judgements))
    measures, left_out = compare(a.judgements[:n], b.judgements[:n])
    key = key or f"judges_agree_{a.name}_vs_{b.name}"
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


def gate_figures(name: str, gate: str, outcomes: list[CaseOutcome], wall_s: float | None = None) -> float:
    """One runner's quality on one gate from its case outcomes (the frozen formula); prints the line."""
    summary = summarize([o.judgement for o in outcomes if o.judgement is not None])
    wall = f", wall {wall_s:.0f} s" if wall_s is not None else " (the full gate's outcomes on these cases)"
    print(f"judges_{gate}_{name}_quality: {summary.quality:.3f}  (W/T/L {summary.wins}/{summary.ties}/"
          f"{summary.losses}, scored {summary.scored_cases}{wall})")
    return summary.quality


def replay_vs_baseline(config: Config, gate: str, baseline_runner: str = "llama") -> None:
    """The template answers of the replay runner and the real baseline, same gate, same judge (proxy v2).
    On the full gate the dev-gate figures come from the same outcomes (the dev ids are a subset), and the
    full gate's valid candidates are re-judged by proxy v1 for the v2-v1 agreement on real candidates."""
    from loop import models
    from loop.db.session import upgrade
    from loop.evaluate import evaluate
    from loop.judges.agreement import StoredCandidate, rejudge
    from loop.judges.proxy import ProxyJudge
    from loop.judges.proxy_v2 import ProxyV2Judge
    from loop.ruler_files import gate_cases

    spec = models.REGISTRY[config.model]
    path = models.models_dir() / spec.name / spec.main_file
    if baseline_runner == "llama" and not path.exists():
        print(f"judges_baseline_skipped: {path} not fetched (autoresearch models fetch --model {spec.name})")
        return
    judge = ProxyV2Judge()
    gates = [gate] + (["dev"] if gate == "full" else [])
    dev_ids = {c.id for c in gate_cases(config.ruler_dir, "dev")}
    quality: dict[str, dict[str, float]] = {g: {} for g in gates}
    valid: list[tuple[StoredCandidate, CaseJudgement]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, runner in (("replay", "replay"), ("baseline", baseline_runner)):
            cfg = load_config(REPO_ROOT, database_url=f"sqlite:///{Path(tmp) / 'record.sqlite'}", runner=runner,
                              model=config.model, judge="proxy")
            upgrade(cfg)
            report = evaluate(cfg, gate, judge=judge, progress=False, use_cache=False)
            quality[gate][name] = gate_figures(name, gate, report.outcomes, report.wall_s)
            if gate == "full":
                quality["dev"][name] = gate_figures(name, "dev", [o for o in report.outcomes if o.case_id in dev_ids])
            cases = {c.id: c for c in gate_cases(cfg.ruler_dir, gate)}
            valid += [(StoredCandidate(case=cases[o.case_id], candidate=o.candidate, evaluation_id=0,
                                       experiment_number=None), o.judgement)
                      for o in report.outcomes if not o.invalid_reason and o.candidate and o.judgement]
    for g in gates:
        gap = quality[g]["baseline"] - quality[g]["replay"]
        verdict = "clearly below" if gap >= CLEARLY_BELOW else "NOT clearly below"
        print(f"judges_{g}_baseline_minus_replay: {gap:+.3f}  (target >= {CLEARLY_BELOW}; {verdict}; "
              f"baseline = runner {baseline_runner}, model {spec.name}, on the shipped agent_workspace; "
              f"judge {judge.judge_id})")
    v1 = ProxyJudge()
    v1_run = JudgeRun("proxy_v1", v1.judge_id, rejudge(v1, [s for s, _ in valid]), 0.0, 0)
    v2_run = JudgeRun("proxy_v2", judge.judge_id, [j for _, j in valid], 0.0, 0)
    report_agreement(v2_run, v1_run, key=f"judges_{gate}_candidates_agree_proxy_v2_vs_proxy_v1")


def stored_replay_vs_baseline() -> None:
    """The stored full-gate candidates (replay template answers, real baseline) judged by proxy v2 now."""
    from loop.judges.proxy_v2 import ProxyV2Judge
    from tests.support.gate_candidates import STORED, gate_quality

    judge = ProxyV2Judge()
    quality = gate_quality(judge)
    for g in ("full", "dev"):
        for name in ("replay", "baseline"):
            print(f"judges_stored_{g}_{name}_quality: {quality[g][name]:.3f}")
        gap = quality[g]["baseline"] - quality[g]["replay"]
        verdict = "clearly below" if gap >= CLEARLY_BELOW else "NOT clearly below"
        print(f"judges_stored_{g}_baseline_minus_replay: {gap:+.3f}  (target >= {CLEARLY_BELOW}; {verdict}; "
              f"candidates {STORED.name}; judge {judge.judge_id})")


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
    stored_replay_vs_baseline()
    if os.environ.get("BENCH_JUDGES_BASELINE", "1") not in ("0", "stored"):
        replay_vs_baseline(config, os.environ.get("BENCH_JUDGES_GATE", "full"))
