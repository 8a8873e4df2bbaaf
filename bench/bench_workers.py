"""Scaling with workers on one record: experiments per hour with 1, 2 and 4 workers, as ratios to one,
with the shared limits (loop/daemon/judge_slots.py, shared_budget.py) off and on, and what the claims
cost per experiment and per judge call.

Each worker is a thread running experiments shaped as the harness runs an evaluation
(loop/evaluate.py): `CASES` cases generated one after another by a fake runner (100 ms a call), each
case's judging submitted to the worker's own pool of `judge_concurrency` threads as soon as it is
generated, by a fake judge (500 ms a call). Around it the real record calls: the experiment number
claimed (`leases.claim`), the budget reserved and settled, the experiment finished. The fakes only
sleep, so the figures are latency-bound (two cores are not the limit). The record is a SQLite file
(one writer at a time: the harder case for the claims), then with the shared limits on a throwaway
PostgreSQL server (tests/pg.py) where its binaries exist.

JUDGE_CONCURRENCY (32) is large enough not to be the bottleneck: 4 workers keep about 4 x 5 judge
calls in flight. One more run with a binding limit (4, 4 workers) shows the peak measured by the fake
judge staying at the limit.
"""

from __future__ import annotations

import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import update

from loop.config import load_config
from loop.daemon.judge_slots import JudgeSlots
from loop.daemon.leases import claim
from loop.daemon.shared_budget import SharedBudget
from loop.daemon.workers import WorkerIdentity
from loop.db.models import Experiment, Worker
from loop.db.session import session_scope, upgrade
from tests.support.limit_fakes import InFlightJudge

RUNNER_S, JUDGE_S, CASES = 0.100, 0.500, 8
JUDGE_CONCURRENCY, BINDING_LIMIT = 32, 4
WALL_S = 7.0  # each configuration runs this long, then finishes the experiments it started


@dataclass
class Tally:
    experiments: int = 0
    claim_s: float = 0.0  # number claim + budget reserve/settle + finish, all workers
    slot_s: float = 0.0  # judge slot claim + release (waits included), all workers
    judge_calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **seconds: float) -> None:
        with self.lock:
            for key, value in seconds.items():
                setattr(self, key, getattr(self, key) + value)


def _experiment(config, me: WorkerIdentity, budget, slots, judge: InFlightJudge, pool, tally: Tally) -> None:
    started = time.perf_counter()
    if budget is not None and not budget.reserve().granted:
        raise RuntimeError("the bench's budget ran out")
    number = claim(config, me.name)
    claimed = time.perf_counter() - started

    def judge_one(_case: int) -> None:
        if slots is None:
            judge.judge(None, None)
            return
        t0 = time.perf_counter()
        slot = slots.hold()
        slot.__enter__()
        t1 = time.perf_counter()
        try:
            judge.judge(None, None)
        finally:
            t2 = time.perf_counter()
            slot.__exit__(None, None, None)
            tally.add(slot_s=(t1 - t0) + (time.perf_counter() - t2), judge_calls=1)

    futures = []
    for case in range(CASES):
        time.sleep(RUNNER_S)  # the runner's call for this case
        futures.append(pool.submit(judge_one, case))
    for future in futures:
        future.result()
    t0 = time.perf_counter()
    with session_scope(config) as db:
        db.execute(update(Experiment).where(Experiment.number == number).values(
            status="discarded", step="done", lease_until=None))
    if budget is not None:
        budget.settle(0.01)
    tally.add(experiments=1, claim_s=claimed + time.perf_counter() - t0)


def _run(workers: int, shared: bool, concurrency: int = JUDGE_CONCURRENCY,
         url: str | None = None) -> tuple[float, Tally, InFlightJudge]:
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        config = load_config(Path(tmp), database_url=url or f"sqlite:///{tmp}/record.sqlite",
                             judge_concurrency=concurrency, budget_usd=1000.0, shared_limits=shared)
        upgrade(config)
        judge, tally, stop = InFlightJudge(latency_s=JUDGE_S), Tally(), threading.Event()

        def worker(i: int) -> None:
            me = WorkerIdentity(f"w{i}", "bench", 50_000 + i)
            with session_scope(config) as db:
                db.merge(Worker(name=me.name, host=me.host, pid=me.pid))
            budget = SharedBudget(config, me) if shared else None
            if budget is not None:
                budget.open()
            slots = JudgeSlots(config, me.name) if shared else None
            with ThreadPoolExecutor(concurrency, thread_name_prefix=f"judge-w{i}") as pool:
                while not stop.is_set():
                    _experiment(config, me, budget, slots, judge, pool, tally)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(WALL_S)
        stop.set()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
    return tally.experiments / wall * 3600, tally, judge


def main() -> None:
    print(f"workers_runner_s_per_call: {RUNNER_S}\nworkers_judge_s_per_call: {JUDGE_S}\nworkers_cases_per_experiment: {CASES}")
    print(f"workers_judge_concurrency: {JUDGE_CONCURRENCY}")
    for shared in (False, True):
        label = "shared_on" if shared else "shared_off"
        base = None
        for n in (1, 2, 4):
            per_hour, tally, judge = _run(n, shared)
            base = base or per_hour
            print(f"workers_{label}_{n}_experiments_per_hour: {per_hour:.0f}")
            print(f"workers_{label}_{n}_ratio_to_one: {per_hour / base:.2f}")
            print(f"workers_{label}_{n}_judge_peak_in_flight: {judge.peak}")
            if shared and tally.experiments:
                print(f"workers_{label}_{n}_claim_ms_per_experiment: {tally.claim_s / tally.experiments * 1000:.1f}")
                print(f"workers_{label}_{n}_slot_ms_per_judge_call: {tally.slot_s / max(1, tally.judge_calls) * 1000:.2f}")
    _postgresql()
    per_hour, tally, judge = _run(4, True, concurrency=BINDING_LIMIT)
    print(f"workers_binding_limit: {BINDING_LIMIT}\nworkers_binding_4_judge_peak_in_flight: {judge.peak}")
    print(f"workers_binding_4_experiments_per_hour: {per_hour:.0f}")
    print(f"workers_binding_4_slot_ms_per_judge_call: {tally.slot_s / max(1, tally.judge_calls) * 1000:.2f}")


def _postgresql() -> None:
    """The shared limits on PostgreSQL (SKIP LOCKED slots), on a throwaway server (tests/pg.py)."""
    from tests.pg import PgServer, find_bindir

    bindir = find_bindir()
    if bindir is None:
        print("workers_postgresql: skipped (no PostgreSQL server binaries; `make test` installs them)")
        return
    server = PgServer(bindir).start()
    try:
        base = None
        for n in (1, 2, 4):
            per_hour, tally, judge = _run(n, True, url=server.url(server.create_database()))
            base = base or per_hour
            print(f"workers_postgresql_shared_on_{n}_experiments_per_hour: {per_hour:.0f}")
            print(f"workers_postgresql_shared_on_{n}_ratio_to_one: {per_hour / base:.2f}")
            print(f"workers_postgresql_shared_on_{n}_claim_ms_per_experiment: {tally.claim_s / tally.experiments * 1000:.1f}")
            print(f"workers_postgresql_shared_on_{n}_slot_ms_per_judge_call: "
                  f"{tally.slot_s / max(1, tally.judge_calls) * 1000:.2f}")
    finally:
        server.stop()
