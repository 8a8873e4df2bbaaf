"""Several worker processes on one PostgreSQL record (the session's own server, tests/pg.py), with the
fast fake parts (replay runner, proxy judge, sweep agent): distinct experiment numbers, each experiment
recorded once with its worker and kept under refs/experiments/NNNN, a worker SIGKILLed mid-iteration
recovered by another as `crashed` with its step, `status` showing each worker. The three-worker test
gives each worker its own clone of one bare research remote (`research_remote`): every experiment is
pushed there and its research branch is linear and equal to the record's kept experiments.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from loop.db.session import upgrade


def _worker(repo: Path, url: str, name: str, *args: str, env_extra: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "AUTORESEARCH_REPO": str(repo), "DATABASE_URL": url, "AUTORESEARCH_JUDGE": "proxy",
           "AUTORESEARCH_RUNNER": "replay", "AUTORESEARCH_AGENT": "sweep", **(env_extra or {})}
    for var in ("ANTHROPIC_API_KEY", "AUTORESEARCH_CRASH_AT", "AUTORESEARCH_REPLAY_DELAY_MS"):
        if var not in (env_extra or {}):
            env.pop(var, None)
    return subprocess.Popen([sys.executable, "-m", "loop.cli", "run", "--no-live", "--worker", name, *args],
                            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until(predicate, what: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _clones(research_repo: Path, h, names) -> tuple[Path, dict[str, Path]]:
    remote = research_repo.parent / "research.git"
    h.git(research_repo.parent, "clone", "-q", "--bare", str(research_repo), str(remote))
    clones = {name: research_repo.parent / name / "repo" for name in names}
    for clone in clones.values():
        clone.parent.mkdir()
        h.git(research_repo.parent, "clone", "-q", str(remote), str(clone))
    return remote, clones


def test_three_workers_share_one_postgresql_record_and_recover_a_killed_one(research_repo, h, pg_url):
    remote, clones = _clones(research_repo, h, ("w0", "w1", "w2", "w3"))
    env = {"DATABASE_URL": pg_url, "AUTORESEARCH_RESEARCH_REMOTE": str(remote)}
    first = h.cli(clones["w0"], "run", "--once", "--no-live", "--worker", "w0", env=env)
    assert first.returncode == 0, first.stderr
    config = h.config_for(clones["w0"], database_url=pg_url)
    assert sorted(h.rows(config)) == [0, 1]

    slow = {"AUTORESEARCH_REPLAY_DELAY_MS": "40"}  # long enough for the killed worker to die mid-iteration
    slow["AUTORESEARCH_RESEARCH_REMOTE"] = str(remote)
    runners = [_worker(clones[f"w{i}"], pg_url, f"w{i}", "--max-experiments", "2", env_extra=slow) for i in (1, 2)]
    _wait_until(lambda: {"w1", "w2"} <= {r.worker for r in h.rows(config).values()}, "w1 and w2 to claim")
    doomed = _worker(clones["w3"], pg_url, "w3", env_extra={"AUTORESEARCH_CRASH_AT": "agent",
                                                         "AUTORESEARCH_RESEARCH_REMOTE": str(remote)})
    assert doomed.wait(timeout=300) == -signal.SIGKILL, doomed.communicate()
    outputs = [proc.communicate(timeout=600) for proc in runners]
    assert [proc.returncode for proc in runners] == [0, 0], [err for _, err in outputs]

    rows = h.rows(config)
    assert sorted(rows) == list(range(len(rows)))  # distinct numbers, none lost
    by_worker = {name: sorted(n for n, r in rows.items() if r.worker == name) for name in ("w0", "w1", "w2", "w3")}
    assert by_worker["w0"] == [0, 1] and len(by_worker["w3"]) == 1
    assert len(by_worker["w1"]) == 2 and len(by_worker["w2"]) == 2  # --max-experiments 2 each
    killed = rows[by_worker["w3"][0]]
    assert (killed.status, killed.step, killed.reason) == ("crashed", "agent", "died in step agent")
    assert killed.lease_until is None
    recovered_by = [err for _, err in outputs if f"experiment {killed.number:04d} marked crashed" in err]
    logs = "".join((clones[w] / ".autoresearch" / "logs" / "daemon.log").read_text() for w in ("w1", "w2"))
    assert recovered_by or f"recovery: experiment {killed.number:04d} marked crashed (died in step agent)" in logs
    for number, row in rows.items():
        assert row.status in ("kept", "discarded", "invalid", "crashed", "superseded"), (number, row.status)
        assert row.lease_until is None, number
        assert row.commit or number == killed.number  # the killed one's work died with its own clone
        if row.commit:  # every experiment's commit is pushed under its own ref, with its worker
            assert h.trailers(remote, f"refs/experiments/{number:04d}")["Worker"] == row.worker
    assert len(h.assert_line_is_the_record(remote, config)) >= 2  # the baseline at least
    for name in ("w0", "w1", "w2"):
        h.assert_git_clean(clones[name])

    status = h.cli(clones["w0"], "status", "--json", env=env)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    states = {w["name"]: w["state"] for w in report["workers"]}
    assert states == {"w0": "stopped", "w1": "stopped", "w2": "stopped", "w3": "lost"}
    assert report["running"] == [] and sum(report["counts"].values()) == len(rows)
    text = h.cli(clones["w0"], "status", env=env).stdout
    assert "daemon: not running" in text and "worker w3 on " in text and "lost (no heartbeat within its lease)" in text


def test_status_shows_a_running_worker_with_its_experiment_and_step(research_repo, h, pg_url):
    config = h.config_for(research_repo, database_url=pg_url)
    upgrade(config)  # the schema first, so the test can watch the rows from the start
    proc = _worker(research_repo, pg_url, "night", "--once", env_extra={"AUTORESEARCH_REPLAY_DELAY_MS": "200"})
    try:
        _wait_until(lambda: any(r.step == "rescore" for r in h.rows(config).values()), "a rescore step")
        report = json.loads(h.cli(research_repo, "status", "--json", env={"DATABASE_URL": pg_url}).stdout)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    [night] = report["workers"]
    assert (night["name"], night["state"], night["pid"]) == ("night", "running", proc.pid)
    assert night["experiment"] == 0 and night["step"] == "rescore" and night["heartbeat_age_s"] < 60
    assert report["running"][0]["worker"] == "night" and report["running"][0]["state"] == "in progress"


def test_an_unreachable_database_is_a_clear_error_and_changes_nothing(research_repo, h, tmp_path):
    url = f"postgresql://nobody@/record?host={tmp_path / 'no-server-here'}"
    refused = h.cli(research_repo, "run", "--once", "--no-live", "--worker", "w1", env={"DATABASE_URL": url})
    assert refused.returncode == 7, refused.stderr
    assert "the record's database is unreachable" in refused.stderr and "no-server-here" in refused.stderr
    assert h.git(research_repo, "for-each-ref", "refs/experiments/") == ""
    assert not (research_repo / ".autoresearch" / "workers" / "w1.lock").exists()


def test_a_second_worker_with_a_taken_name_on_another_host_is_refused(research_repo, h, pg_url):
    from loop.db.models import Worker
    from loop.db.session import session_scope

    config = h.config_for(research_repo, database_url=pg_url)
    upgrade(config)
    with session_scope(config) as db:  # a live worker "night" on another machine
        db.add(Worker(name="night", host="mac-elsewhere", pid=4242))
    refused = h.cli(research_repo, "run", "--once", "--no-live", "--worker", "night", env={"DATABASE_URL": pg_url})
    assert refused.returncode == 3, refused.stderr
    assert "worker name 'night' is already taken by a live daemon on host mac-elsewhere (pid 4242" in refused.stderr
    assert h.rows(config) == {}  # it claimed nothing
    with session_scope(config) as db:
        assert db.get(Worker, "night").host == "mac-elsewhere"  # and took nothing over
