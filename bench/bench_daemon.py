"""The daemon's own cost: overhead per iteration, a full sweep iteration, and memory over a long run.

Runs the real daemon in-process (lock, recovery, watchers, scheduler, state machine, guard, git
record, keep rule, record) on a temporary git repository copied from the project, with the replay
runner (a real subprocess, instant answers), the real sandboxed pipeline, and a fast deterministic
fake judge. "Overhead" is everything except the agent step and the evaluations (model + judge time,
and the harness around them, reported separately).

Figures: daemon_overhead_median_s (target <= 1 s), sweep_iteration_median_s, evaluate_median_s,
rss_after_10_mb and rss_after_100_mb (target: within 10%). BENCH_DAEMON_ITERATIONS overrides 100.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from loop.config import REPO_ROOT, load_config
from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.db.session import upgrade
from loop.ruler_lock import write_lock
from loop.schemas import CaseJudgement, DimScores
from ruler.scoring import combine_verdicts

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@localhost", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "b@localhost"}


class FastJudge:
    """Deterministic, instant: scores from a hash of the candidate."""

    judge_id = "fake:bench/1"

    def judge(self, case, candidate) -> CaseJudgement:
        seed = int(hashlib.sha256((case.id + "".join(candidate.questions)).encode()).hexdigest(), 16)
        first, second = ("candidate", "tie", "gold")[seed % 3], ("candidate", "tie", "gold")[(seed >> 3) % 3]
        dims = DimScores(**{d: 1 + (seed >> (5 + i * 3)) % 5 for i, d in enumerate(
            ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy"))})
        return CaseJudgement(dims=dims, verdict_candidate_first=first, verdict_gold_first=second,
                             verdict=combine_verdicts(first, second), failure_notes="bench", judge_calls=2)


class TimedResources(Resources):
    """Resources that remember how long each experiment's evaluations took."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.per_experiment: dict[int, float] = {}

    def evaluate(self, gate, workspace, *, experiment_number=None, **kwargs):
        started = time.perf_counter()
        try:
            return super().evaluate(gate, workspace, experiment_number=experiment_number, **kwargs)
        finally:
            key = experiment_number if experiment_number is not None else -1
            self.per_experiment[key] = self.per_experiment.get(key, 0.0) + time.perf_counter() - started


def make_repo(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for part in ("ruler", "agent_workspace"):
        shutil.copytree(REPO_ROOT / part, dest / part, ignore=shutil.ignore_patterns("__pycache__", ".cache"))
    shutil.copy(REPO_ROOT / ".gitignore", dest / ".gitignore")
    write_lock(dest / "ruler")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench snapshot"]):
        subprocess.run(["git", *args], cwd=dest, check=True, env=env)
    return dest


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_batch(config, resources, n: int) -> list:
    options = RunOptions(max_experiments=n, live=False, handle_signals=False)
    return Daemon(config, options, resources=resources).run().results


def main() -> None:
    total = int(os.environ.get("BENCH_DAEMON_ITERATIONS", "100"))
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_CRASH_AT", "AUTORESEARCH_REPLAY_DELAY_MS"):
        os.environ.pop(name, None)
    with tempfile.TemporaryDirectory(prefix="bench-daemon-") as tmp:
        repo = make_repo(Path(tmp) / "repo")
        config = load_config(repo, database_url=f"sqlite:///{Path(tmp) / 'record.sqlite'}", runner="replay",
                             agent="sweep", desktop_notifications=False, interval_s=0, plateau=10_000,
                             max_consecutive_failures=10_000)
        upgrade(config)
        resources = TimedResources(config, judge=FastJudge())
        started = time.perf_counter()
        results = run_batch(config, resources, 10)
        first_batch_s = time.perf_counter() - started
        rss_10 = rss_mb()
        experiments = [r for r in results if not r.baseline]
        totals = [sum(r.durations.values()) for r in experiments]
        agent = [r.durations.get("agent", 0.0) for r in experiments]
        evaluate = [resources.per_experiment.get(r.number, 0.0) for r in experiments]
        overhead = [t - a - e for t, a, e in zip(totals, agent, evaluate)]
        print(f"daemon_iterations_measured: {len(experiments)}")
        print(f"daemon_overhead_median_s: {statistics.median(overhead):.3f}")
        print(f"daemon_overhead_max_s: {max(overhead):.3f}")
        print(f"sweep_agent_median_s: {statistics.median(agent):.3f}")
        print(f"evaluate_median_s: {statistics.median(evaluate):.3f}")
        print(f"sweep_iteration_median_s: {statistics.median(totals):.3f}")
        print(f"first_10_wall_s: {first_batch_s:.1f}")
        steps = {}
        for r in experiments:
            for step, seconds in r.durations.items():
                steps.setdefault(step, []).append(seconds)
        print("step_medians_s: " + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in steps.items()))
        print(f"rss_after_10_mb: {rss_10:.1f}")
        run_batch(config, resources, total - 10)
        rss_100 = rss_mb()
        print(f"rss_after_{total}_mb: {rss_100:.1f}")
        print(f"rss_growth_pct: {100 * (rss_100 - rss_10) / rss_10:.1f}")
        resources.close()


if __name__ == "__main__":
    main()
