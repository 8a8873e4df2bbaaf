"""The full gate's stored candidates of the shipped agent_workspace (`data/full_gate_candidates.json`):
the replay runner's template answers and the real Qwen2.5-1.5B baseline (llama runner), captured once from
a scratch record of `bench judges`, so a test or the bench can judge the same candidates in seconds
instead of regenerating the baseline (600-1000 s on two cores). Model outputs only, no gold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from loop.config import REPO_ROOT
from loop.ruler_files import gate_cases
from loop.schemas import Answer, CaseJudgement
from ruler.scoring import summarize

STORED = Path(__file__).with_name("data") / "full_gate_candidates.json"
RUNS = ("replay", "baseline")


@dataclass(frozen=True)
class StoredRun:
    name: str  # "replay" | "baseline"
    runner: str
    model: str
    candidates: dict[str, Answer]  # case id -> the runner's answer on the full gate


def stored_runs(path: Path = STORED) -> list[StoredRun]:
    raw = json.loads(path.read_text())
    return [StoredRun(name, raw["runs"][name]["runner"], raw["runs"][name]["model"],
                      {cid: Answer.model_validate(a) for cid, a in raw["runs"][name]["candidates"].items()})
            for name in RUNS]


def gate_quality(judge, ruler_dir: Path = REPO_ROOT / "ruler") -> dict[str, dict[str, float]]:
    """{gate: {run: quality}} for the full gate and its dev subset, every stored candidate judged by `judge`."""
    cases = {c.id: c for c in gate_cases(ruler_dir, "full")}
    dev = {c.id for c in gate_cases(ruler_dir, "dev")}
    out: dict[str, dict[str, float]] = {"full": {}, "dev": {}}
    for run in stored_runs():
        missing = sorted(set(cases) - set(run.candidates))
        if missing:
            raise ValueError(f"{STORED}: run {run.name} lacks full-gate cases {missing}")
        judged: dict[str, CaseJudgement] = {cid: judge.judge(cases[cid], a) for cid, a in run.candidates.items()}
        out["full"][run.name] = summarize(list(judged.values())).quality
        out["dev"][run.name] = summarize([j for cid, j in judged.items() if cid in dev]).quality
    return out
