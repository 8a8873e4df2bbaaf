"""A compressed night: 300 iterations of the real daemon with fast fakes and faults on a schedule.

The daemon, scheduler, stop policies, iteration state machine, guard, git record, keep rule,
recording, recovery/resume and maintenance are the real code; the agent, judge, runner and pipeline
session are fakes (`bench/soak_fakes.py`). Faults, by experiment number: a stretch of judge HTTP 500s
from experiment 40 (160 failed calls), the judge unreachable from 80 (160 failed calls), the agent's
API overloaded (529) for 3 attempts at 100, malformed judge replies (120-129), the runner killed
mid-case (160-169), SIGTERM in the middle of experiment 200's re-score, then a restart that must
resume 200. The night is compressed (`COMPRESSED`: outage waits in tenths of a second), the code
paths are the daemon's own.

Figures: soak_iterations_completed, soak_experiments_lost, soak_experiments_duplicated (target 0),
soak_quality_from_failed_judging (target 0: an experiment whose deciding evaluation had judge
errors yet was recorded with a quality), RSS and open file descriptors at iteration 10 and 300
(target: flat within 10 %). Open fds are split in two: the record's SQLite handles, which
SQLAlchemy's connection pool opens lazily up to its bound the first time enough threads need a
connection at once (a step, not a leak), and every other handle; the leak figures are the other
handles' growth and the slope of all handles after warm-up (fds per 100 iterations, least squares
over the floors of ten-iteration windows). BENCH_SOAK_ITERATIONS overrides 300.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.bench_daemon import make_repo, rss_mb
from bench.soak_fakes import FaultPlan, SoakAgent, SoakJudge, SoakRunner, session_factory
from loop.config import load_config
from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.db.models import Evaluation, Event, Experiment
from loop.db.session import session_scope, upgrade

FINAL = ("kept", "discarded", "invalid", "crashed")
WAIT_EVENTS = ("judge_waiting", "agent_api_waiting")
# a compressed night: the waits of an outage in tenths of a second instead of minutes (same code paths)
COMPRESSED = dict(judge_case_backoff_s=0.01, judge_wait_initial_s=0.05, judge_wait_max_s=0.4,
                  judge_wait_notify_after_s=0.5)


def open_fds(record_path: Path) -> tuple[int, int]:
    """(handles on the record's SQLite files, every other handle) open in this process now."""
    record, other = 0, 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed between listing and reading (the listing's own handle)
            continue
        if target.startswith(str(record_path)):
            record += 1
        else:
            other += 1
    return record, other


def slope_per_100(floors: dict[int, int]) -> float:
    """Least-squares slope of the window floors, in fds per 100 iterations."""
    if len(floors) < 2:
        return 0.0
    return 100 * statistics.linear_regression(list(floors), list(floors.values())).slope


def main() -> None:
    total = int(os.environ.get("BENCH_SOAK_ITERATIONS", "300"))
    for name in ("ANTHROPIC_API_KEY", "AUTORESEARCH_CRASH_AT", "AUTORESEARCH_REPLAY_DELAY_MS"):
        os.environ.pop(name, None)
    plan = FaultPlan.for_night(total)  # a short run (BENCH_SOAK_ITERATIONS) still meets every fault
    samples: dict[int, tuple[float, int, int]] = {}

    # RSS and open fds are read as the agent starts every iteration, when transient handles (a pooled
    # SQLite connection, a git pipe) may be open: each figure is a floor over ten iterations, so a
    # leak (a floor that rises) shows and a handle that happens to be open at one instant does not
    first, last = range(10, 20), range(max(20, total - 9), total + 1)

    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        record_path = Path(tmp) / "record.sqlite"

        def sample(number: int) -> None:
            samples[number] = (rss_mb(), *open_fds(record_path))

        repo = make_repo(Path(tmp) / "repo")
        config = load_config(repo, database_url=f"sqlite:///{record_path}", judge="proxy",
                             runner="replay", agent="sweep", desktop_notifications=False, interval_s=0,
                             max_consecutive_failures=10_000, **COMPRESSED)
        upgrade(config)
        agent = SoakAgent(plan, on_iteration=sample)
        resources = Resources(config, runner=SoakRunner(), judge=SoakJudge(plan),
                              session_factory=session_factory(plan), embedder=None)
        started = time.perf_counter()
        runs, stops, stop_s = [], [], None
        while True:
            with session_scope(config) as db:
                done = len(list(db.scalars(select(Experiment.number).where(
                    Experiment.status.in_(FINAL), Experiment.agent != "baseline"))))
            if done >= total or len(runs) >= 3:
                break
            daemon = Daemon(config, RunOptions(max_experiments=total - done, live=False, watch=False),
                            agent=agent, resources=resources)
            summary = daemon.run()
            runs.append(summary)
            stops.append(summary.stop.kind.value if summary.stop else "none")
            if summary.stop is not None and summary.stop.kind.value == "signal" and plan.sigterm_time is not None:
                stop_s = time.perf_counter() - plan.sigterm_time
        wall = time.perf_counter() - started
        resources.close()

        with session_scope(config) as db:
            rows = list(db.scalars(select(Experiment).order_by(Experiment.number)))
            evaluations = list(db.scalars(select(Evaluation).where(Evaluation.kind == "official")))
            waits = [e.kind for e in db.scalars(select(Event).where(Event.kind.in_(WAIT_EVENTS)))]
        numbers = [r.number for r in rows]
        final = [r for r in rows if r.status in FINAL and r.agent != "baseline"]
        hypotheses = [r.hypothesis for r in rows if r.agent != "baseline"]
        lost = sorted(set(agent.runs) - {r.number for r in final}) + [r.number for r in rows if r.status == "running"]
        duplicated = (len(agent.runs) - len(set(agent.runs))) + (len(hypotheses) - len(set(hypotheses)))
        errors_by_experiment: dict[int, int] = {}
        for evaluation in evaluations:
            if evaluation.experiment_number is not None:
                errors_by_experiment[evaluation.experiment_number] = (
                    errors_by_experiment.get(evaluation.experiment_number, 0) + (evaluation.judge_errors or 0))
        from_failed = [r.number for r in rows if r.quality is not None and errors_by_experiment.get(r.number, 0) > 0]
        resumed = [line for summary in runs for line in summary.recovered if "resume" in line]

        print(f"soak_iterations_requested: {total}")
        print(f"soak_iterations_completed: {len(final)}")
        print(f"soak_daemon_runs: {len(runs)} (stops: {', '.join(stops)})")
        print(f"soak_sigterm_to_stop_s: {stop_s:.2f}" if stop_s is not None else "soak_sigterm_to_stop_s: none")
        print(f"soak_resumed: {'; '.join(resumed) or 'none'}")
        print(f"soak_numbers_contiguous: {numbers == list(range(len(numbers)))}")
        print(f"soak_experiments_lost: {len(lost)}{' ' + str(lost[:10]) if lost else ''}")
        print(f"soak_experiments_duplicated: {duplicated}")
        print(f"soak_quality_from_failed_judging: {len(from_failed)}"
              f"{' (experiments ' + ', '.join(map(str, from_failed[:12])) + ('…' if len(from_failed) > 12 else '') + ')' if from_failed else ''}")
        by_status: dict[str, int] = {}
        for r in final:
            by_status[r.status] = by_status.get(r.status, 0) + 1
        print("soak_status_counts: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
        print("soak_faults_injected: " + ", ".join(f"{k} {v}" for k, v in sorted(plan.faults_seen.items())))
        print("soak_wait_notifications: " + ", ".join(f"{k} {waits.count(k)}" for k in WAIT_EVENTS))
        api_crashed = [r.number for r in rows if r.number in agent.api_failures and r.status == "crashed"]
        print(f"soak_agent_api_refusals: {len(agent.api_failures)} (experiments {sorted(set(agent.api_failures))}; "
              f"recorded crashed: {len(api_crashed)})")
        print(f"soak_plateau_broadened: {agent.broadened}")
        early, late = [samples[n] for n in first if n in samples], [samples[n] for n in last if n in samples]
        if early and late:
            print_resources(early, late, samples, first, last, total)
        print(f"soak_wall_s: {wall:.1f}")


def print_resources(early, late, samples, first: range, last: range, total: int) -> None:
    def floor(rows, column: int) -> int | float:
        return min(row[column] for row in rows)

    rss_10, rss_n = floor(early, 0), floor(late, 0)
    print(f"soak_rss_at_10_mb: {rss_10:.1f}")
    print(f"soak_rss_at_{total}_mb: {rss_n:.1f}")
    print(f"soak_rss_growth_pct: {100 * (rss_n - rss_10) / rss_10:.1f}")
    early_span, late_span = f"{first.start}-{first.stop - 1}", f"{last.start}-{last.stop - 1}"
    fd_10, fd_n = floor(early, 1) + floor(early, 2), floor(late, 1) + floor(late, 2)
    print(f"soak_fds_at_10: {fd_10}  (all handles, floor over iterations {early_span})")
    print(f"soak_fds_at_{total}: {fd_n}  (all handles, floor over iterations {late_span})")
    print(f"soak_fds_growth_pct: {100 * (fd_n - fd_10) / fd_10:.1f}  (includes the pool's warm-up)")
    print(f"soak_fds_record_pool: {floor(early, 1)} -> {floor(late, 1)}  (the record's SQLite handles, "
          f"highest {max(row[1] for row in samples.values())}; the pool opens them lazily up to its bound)")
    other_10, other_n = floor(early, 2), floor(late, 2)
    print(f"soak_fds_other: {other_10} -> {other_n}  (floor over iterations {early_span} and {late_span})")
    print(f"soak_fds_other_growth_pct: {100 * (other_n - other_10) / other_10:.1f}  (target: within 10 %)")
    after_warmup = {start: min(samples[n][1] + samples[n][2] for n in range(start, start + 10) if n in samples)
                    for start in range(50, total - 9, 10) if any(n in samples for n in range(start, start + 10))}
    print(f"soak_fds_slope_per_100_iterations: {slope_per_100(after_warmup):+.2f}  (all handles, least squares "
          f"over {len(after_warmup)} ten-iteration floors from iteration 50; a leak of one handle per "
          f"iteration would read +100)")


if __name__ == "__main__":
    main()
