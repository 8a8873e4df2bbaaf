"""Claims, leases and worker names in the record, on SQLite and PostgreSQL: numbers claimed by racing
processes are distinct, a claim whose lease expired (or whose holder died on this host) is recovered
as `crashed` with its step by exactly one worker, the heartbeat renews only unfinished claims, and a
worker name is held by one live process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from loop.config import load_config
from loop.daemon import experiments, leases, workers
from loop.daemon.gitrecord import GitRecord
from loop.daemon.recovery import recover_claims
from loop.daemon.workers import WorkerIdentity, WorkerNameTaken
from loop.db.models import Experiment, Worker, utcnow
from loop.db.session import session_scope, upgrade

REPO = Path(__file__).resolve().parents[2]
RACER = """
import sys, time
from pathlib import Path
from loop.config import load_config
from loop.daemon.leases import claim
config = load_config(Path(sys.argv[1]), database_url=sys.argv[2])
while not Path(sys.argv[3]).exists():
    time.sleep(0.01)
print(" ".join(str(claim(config, sys.argv[4])) for _ in range(int(sys.argv[5]))))
"""


@pytest.fixture
def config(record_url: str, tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@l", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@l"}
    for args in (["init", "-q", "-b", "main"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    config = load_config(repo, database_url=record_url, worker_lease_s=30)
    upgrade(config)
    return config


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _add_worker(config, name: str, host: str, pid: int, heartbeat_age_s: float) -> None:
    with session_scope(config) as db:
        db.add(Worker(name=name, host=host, pid=pid, heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age_s)))


def _add_claim(config, number: int, worker: str, lease_in_s: float, step: str = "rescore") -> None:
    with session_scope(config) as db:
        db.add(Experiment(number=number, status="running", step=step, worker=worker, parent_commit=None,
                          lease_until=utcnow() + timedelta(seconds=lease_in_s)))


def test_claims_racing_in_four_processes_get_distinct_numbers(config, tmp_path: Path):
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(config.repo), config.db_url, str(go), f"w{i}", "15"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i in range(4)]
    time.sleep(1.5)  # every racer imported and waiting
    go.touch()
    got = {}
    for i, proc in enumerate(racers):
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        got[f"w{i}"] = [int(n) for n in out.split()]
    numbers = [n for ns in got.values() for n in ns]
    assert sorted(numbers) == list(range(60))  # distinct and gap-free
    with session_scope(config) as db:
        owners = {row.number: row.worker for row in db.scalars(select(Experiment))}
    assert all(owners[n] == name for name, ns in got.items() for n in ns)
    assert all(row_lease is not None for row_lease in _leases(config).values())


def _leases(config) -> dict:
    with session_scope(config) as db:
        return {row.number: row.lease_until for row in db.scalars(select(Experiment))}


def test_an_expired_lease_is_recovered_as_crashed_with_its_step_and_a_live_one_is_left(config):
    _add_worker(config, "far", "elsewhere", 4242, heartbeat_age_s=300)
    _add_worker(config, "near", "elsewhere", 4343, heartbeat_age_s=1)
    _add_claim(config, 0, "far", lease_in_s=-5, step="rescore")
    _add_claim(config, 1, "near", lease_in_s=25, step="agent")
    me = WorkerIdentity.current("me")
    done = recover_claims(config, GitRecord(config.repo), me)
    assert len(done) == 1 and done[0].startswith("experiment 0000 marked crashed (died in step rescore)")
    assert "worker far's lease expired at" in done[0]
    dead, live = experiments.get(config, 0), experiments.get(config, 1)
    assert (dead.status, dead.step, dead.reason, dead.worker, dead.lease_until) == \
        ("crashed", "rescore", "died in step rescore", "far", None)
    assert (live.status, live.step, live.worker) == ("running", "agent", "near") and live.lease_until is not None
    assert recover_claims(config, GitRecord(config.repo), me) == []  # nothing left to recover


def test_a_claim_whose_holder_died_on_this_host_is_recovered_before_its_lease_ends(config):
    me = WorkerIdentity.current("me")
    _add_worker(config, "gone", me.host, _dead_pid(), heartbeat_age_s=1)
    _add_worker(config, "alive", me.host, os.getppid(), heartbeat_age_s=1)
    _add_claim(config, 0, "gone", lease_in_s=25, step="verify")
    _add_claim(config, 1, "alive", lease_in_s=25, step="verify")
    claims = leases.Claims.survey(config, me)
    assert [row.number for row in claims.recoverable] == [0] and claims.held == {1}
    assert "worker gone (pid" in claims.why[0] and claims.others_live
    assert claims.spared(1) and claims.spared(2) and not claims.spared(0)  # 2: claimed after the survey


def test_of_two_workers_recovering_one_claim_exactly_one_takes_it_over(config):
    _add_claim(config, 0, "far", lease_in_s=-5)
    row = experiments.get(config, 0)
    assert leases.take_over(config, row) is True
    assert leases.take_over(config, row) is False  # the second saw the row as it was before the first
    assert experiments.get(config, 0).worker == "far"  # a recovery keeps who ran it


def test_the_heartbeat_renews_unfinished_claims_and_releases_nothing_else(config):
    me = WorkerIdentity.current("beater")
    workers.register(config, me)
    running = experiments.claim(config, worker=me.name)
    finished = experiments.claim(config, worker=me.name)
    experiments.enter_step(config, finished, "done")  # done releases the lease
    before = _leases(config)
    assert before[finished] is None
    time.sleep(0.05)
    assert workers.beat(config, me) is True
    after = _leases(config)
    assert after[running] > before[running] and after[finished] is None


def test_a_worker_name_is_held_by_one_live_process(config):
    me = WorkerIdentity.current("night")
    other_host = WorkerIdentity("night", "elsewhere", 99)
    workers.register(config, me)
    with pytest.raises(WorkerNameTaken, match=r"worker name 'night' is already taken by a live daemon on host \S+ \(pid \d+, last heartbeat"):
        workers.register(config, other_host)
    workers.unregister(config, me)  # a clean stop frees the name at once
    workers.register(config, other_host)
    assert workers.beat(config, me) is False  # the earlier holder learns that the name is gone
    with session_scope(config) as db:  # a heartbeat older than the lease: presumed dead, taken over
        db.get(Worker, "night").heartbeat_at = utcnow() - timedelta(seconds=config.worker_lease_s + 1)
    workers.register(config, me)
    assert workers.beat(config, me) is True


def test_a_worker_that_died_on_this_host_frees_its_name_at_once(config):
    me = WorkerIdentity.current("night")
    _add_worker(config, "night", me.host, _dead_pid(), heartbeat_age_s=1)
    workers.register(config, me)
    views = workers.worker_views(config, me)
    assert [(v.name, v.pid, v.state) for v in views] == [("night", me.pid, "running")]


def test_a_worker_whose_claim_was_recovered_meanwhile_may_not_write_another_step(config):
    number = experiments.claim(config, worker="slow")
    experiments.enter_step(config, number, "agent")
    experiments.update(config, number, status="crashed", reason="died in step agent", lease_until=None)
    with pytest.raises(experiments.LeaseLost, match="was closed as crashed by another worker"):
        experiments.enter_step(config, number, "verify")
    row = experiments.get(config, number)
    assert (row.status, row.step) == ("crashed", "agent")  # the recovery's record stands
