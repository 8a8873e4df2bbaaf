"""One research line through one bare git remote: two workers, each in its own clone, on one record,
with in-process fakes (a pipeline stand-in whose answers count the `marker-*.txt` files of its workspace,
a judge that grades that count: 0 loses to gold, 1 ties, 2+ wins). The race is driven by a hook on the
second worker's steps, not by timing: at its `decide` (or `commit`) step the first worker runs a whole
experiment and keeps it, so exactly one advances the branch first and the other is re-decided against it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from loop.daemon.agents.base import AgentOutcome
from loop.daemon.iteration import Iteration
from loop.daemon.resources import Resources
from loop.daemon.runloop import Daemon, RunOptions
from loop.daemon.stopping import StopKind
from loop.db.session import upgrade
from loop.errors import InputError
from loop.runners.protocol import Backend
from loop.runners.replay_server import generic_answer
from loop.sandbox.session import PipelineResult
from loop.schemas import Answer, CaseJudgement, DimScores

DIMS = ("atomicity", "specificity", "coverage", "naturalness", "non_redundancy")


class MarkerSession:
    mode = "none"  # the confinement evaluations record: a stand-in runs in-process, unconfined

    def __init__(self, workspace):
        self.count = len(list(Path(workspace).glob("marker-*.txt")))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def run_case(self, task):
        answer = generic_answer(task)
        answer["title"] = f"{self.count}: {task}"
        return PipelineResult(answer=Answer(**answer), error=None, trace=[], deterministic=True, model_calls=1,
                              latency_ms=1.0)


class CountJudge:
    judge_id = "test:marker-count/1"
    mode = "standard"
    LEVELS = (("gold", 1), ("tie", 3), ("candidate", 5))

    def judge(self, case, candidate):
        verdict, dims = self.LEVELS[min(int(candidate.title.split(":")[0]), 2)]
        return CaseJudgement(dims=DimScores(**dict.fromkeys(DIMS, dims)), verdict_candidate_first=verdict,
                             verdict_gold_first=verdict, verdict=verdict)


class StandInRunner:
    def __init__(self, backend: Backend | None = None):
        self.backend = backend or Backend(name="llama", model="stand-in", model_version="1", available=True)

    def probe(self) -> Backend:
        return self.backend

    def close(self) -> None:
        return None


class MarkerAgent:
    name = "scripted"

    def __init__(self, file: str, text: str):
        self.file, self.text = file, text

    def run(self, ctx) -> AgentOutcome:
        (ctx.workspace / self.file).write_text(self.text)
        ctx.services.record_hypothesis(f"scripted: write {self.file}", "write one file", "inference")
        return AgentOutcome(hypothesis=f"scripted: write {self.file}", cost_usd=0.0, turns=1)


class Worker:
    """One worker: its own clone of the remote, its own Resources, the shared record."""

    def __init__(self, h, root: Path, name: str, remote: Path, db_url: str, embedder="default", runner=None):
        self.clone = root / name / "repo"
        self.clone.parent.mkdir(parents=True)
        h.git(root, "clone", "-q", str(remote), str(self.clone))
        self.config = h.config_for(self.clone, database_url=db_url, research_remote=str(remote), worker=name)
        self.res = Resources(self.config, runner=runner or StandInRunner(), judge=CountJudge(), session_factory=MarkerSession,
                             embedder=embedder)

    def iterate(self, agent, on_step=lambda n, s: None):
        return Iteration(self.res, agent, on_step=on_step).run()


@pytest.fixture
def line(tmp_path, h, daemon_env):
    seed = h.make_repo(tmp_path / "seed")
    remote = tmp_path / "research.git"
    h.git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    db_url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    a = Worker(h, tmp_path, "a", remote, db_url)
    b = Worker(h, tmp_path, "b", remote, db_url, embedder=a.res.embedder)
    upgrade(a.config)
    assert a.iterate(None).status == "kept"  # the baseline, which creates the remote's research branch
    return remote, a, b


def race(first: Worker, second: Worker, at: str, first_agent, second_agent):
    """`second` runs an experiment; when it enters step `at`, `first` runs a whole one."""
    done = {}

    def hook(number, step):
        if step == at and not done:
            done["first"] = first.iterate(first_agent)

    second_result = second.iterate(second_agent, on_step=hook)
    return done["first"], second_result


@pytest.mark.parametrize("at", ["decide", "commit"])
def test_two_keeps_against_one_incumbent_land_one_after_the_other(line, h, at, caplog):
    remote, a, b = line
    caplog.set_level(logging.INFO, logger="loop.daemon")
    first, second = race(a, b, at, MarkerAgent("marker-a.txt", "a\n"), MarkerAgent("marker-b.txt", "b\n"))
    rows = h.rows(a.config)
    assert all(row.commit for row in rows.values())
    assert (first.status, second.status) == ("kept", "kept")
    assert rows[first.number].parent == 0  # the first decided against the baseline
    # the second was re-decided against the first, as it now stands: both markers, a better score
    assert rows[second.number].parent == first.number
    assert rows[second.number].parent_commit == rows[first.number].commit
    assert rows[second.number].reason.startswith(f"rebased onto experiment {first.number:04d}: beats the incumbent")
    assert h.git(remote, "ls-tree", "--name-only", rows[second.number].commit, "agent_workspace/").count("marker-") == 2
    assert second.quality > first.quality
    h.assert_line_is_the_record(remote, a.config)
    lost_swap = any(f"{h.line_branch(remote)} moved" in r.getMessage() for r in caplog.records)
    assert lost_swap == (at == "commit")  # at commit the decision was made; the compare-and-swap caught the race
    assert h.git(b.clone, "rev-parse", "research") == rows[second.number].commit  # the clone follows the remote


def test_a_rebased_candidate_that_no_longer_beats_the_new_incumbent_is_discarded(line, h):
    remote, a, b = line
    first, second = race(a, b, "decide", MarkerAgent("marker-a.txt", "same\n"), MarkerAgent("marker-a.txt", "same\n"))
    rows = h.rows(a.config)
    assert (first.status, second.status) == ("kept", "discarded")  # against the baseline it would have been kept
    assert rows[second.number].parent == first.number and "rebased onto experiment" in rows[second.number].reason
    history = h.assert_line_is_the_record(remote, a.config)
    assert history[-1] == rows[first.number].commit


def test_a_conflicting_rebase_is_superseded_and_kept_under_its_ref_on_the_remote(line, h):
    remote, a, b = line
    first, second = race(a, b, "decide", MarkerAgent("marker-x.txt", "from a\n"), MarkerAgent("marker-x.txt", "from b\n"))
    rows = h.rows(a.config)
    assert (first.status, second.status) == ("kept", "superseded")
    row = rows[second.number]
    assert "conflicts with it in agent_workspace/marker-x.txt" in row.reason
    assert row.parent == 0 and row.parent_commit == rows[0].commit  # committed on its own parent, never rebased
    ref = f"refs/experiments/{second.number:04d}"
    assert h.git(remote, "show", f"{ref}:agent_workspace/marker-x.txt") == "from b"
    assert h.trailers(remote, ref)["Status"] == "superseded"
    assert h.assert_line_is_the_record(remote, a.config)[-1] == rows[first.number].commit


def test_a_remote_that_rejects_pushes_halts_the_run_and_loses_no_experiment(line, h):
    remote, a, _ = line
    tip = h.git(remote, "rev-parse", h.line_branch(remote))
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes are closed for maintenance' >&2\nexit 1\n")
    hook.chmod(0o755)
    summary = Daemon(a.config, RunOptions(once=True, live=False, watch=False, handle_signals=False),
                     agent=MarkerAgent("marker-a.txt", "a\n"), resources=a.res).run()
    assert summary.stop.kind == StopKind.CANNOT_RUN
    assert "rejected" in summary.stop.message and "pushes are closed for maintenance" in summary.stop.message
    [result] = summary.results
    row = h.rows(a.config)[result.number]
    assert row.status == "crashed" and "kept here under refs/experiments/0001" in row.reason
    assert row.decision["keep"] is True and row.quality is None  # it passed the rule, but was never kept
    assert h.git(a.clone, "rev-parse", "refs/experiments/0001") == row.commit  # nothing lost: kept locally
    assert h.git(a.clone, "show", f"{row.commit}:agent_workspace/marker-a.txt") == "a"
    assert h.git(remote, "rev-parse", h.line_branch(remote)) == tip  # the shared line did not move
    assert h.git(remote, "for-each-ref", "refs/experiments/0001") == ""


def test_an_unreachable_remote_is_a_clear_error_before_any_claim(tmp_path, h, daemon_env):
    worker = Worker(h, tmp_path, "a", h.make_repo(tmp_path / "seed"), f"sqlite:///{tmp_path / 'record.sqlite'}")
    config = worker.config.model_copy(update={"research_remote": str(tmp_path / "no-such.git")})
    upgrade(config)
    summary = Daemon(config, RunOptions(once=True, live=False, watch=False, handle_signals=False),
                     agent=MarkerAgent("marker-a.txt", "a\n"), resources=Resources(
                         config, runner=StandInRunner(), judge=CountJudge(), session_factory=MarkerSession)).run()
    assert summary.stop.kind == StopKind.CANNOT_RUN
    assert f"the research remote {tmp_path / 'no-such.git'} is unreachable" in summary.stop.message
    assert h.rows(config) == {} and h.git(worker.clone, "for-each-ref", "refs/experiments/") == ""


def test_research_remote_in_the_config_file_is_checked_with_its_line(tmp_path, h, daemon_env):
    repo = h.make_repo(tmp_path / "repo")
    (repo / "autoresearch.toml").write_text("interval_s = 0\nresearch_remote = \"  \"\n")
    with pytest.raises(InputError) as err:
        h.config_for(repo)
    assert "research_remote" in str(err.value) and err.value.line == 2
    (repo / "autoresearch.toml").write_text("research_remote = \"../shared.git\"\n")
    assert h.config_for(repo).research_remote_url == str((tmp_path / "shared.git").resolve())
    assert h.config_for(repo, research_remote="git@host:team/line.git").research_remote_url == "git@host:team/line.git"


def two_lines(tmp_path, h) -> tuple[Path, Worker, Worker]:
    """One bare remote, one record, a Mac worker on the Apple model and a Linux worker on the portable one."""
    seed = h.make_repo(tmp_path / "seed")
    remote = tmp_path / "research.git"
    h.git(tmp_path, "clone", "-q", "--bare", str(seed), str(remote))
    db_url = f"sqlite:///{tmp_path / 'record.sqlite'}"
    apple = Backend(name="apple", model="SystemLanguageModel", model_version="27.0", base_model_signature="a1b2",
                    available=True)
    mac = Worker(h, tmp_path, "mac", remote, db_url, runner=StandInRunner(apple))
    linux = Worker(h, tmp_path, "linux", remote, db_url, embedder=mac.res.embedder)
    upgrade(mac.config)
    return remote, mac, linux


def test_two_model_lines_on_one_remote_never_decide_against_each_other(tmp_path, h, daemon_env):
    """A Mac on the Apple model and a Linux box on the portable model, one record, one remote: each line
    has its own branch there, its own baseline and incumbent; neither rebases onto, nor is decided
    against, the other's keep, and no "model changed" line switch is ever recorded."""
    from sqlalchemy import select

    from loop.db.models import Event
    from loop.db.session import session_scope

    remote, mac, linux = two_lines(tmp_path, h)
    mac_base, linux_base = mac.iterate(None), linux.iterate(None)
    mac_keep = mac.iterate(MarkerAgent("marker-a.txt", "a\n"))
    linux_keep = linux.iterate(MarkerAgent("marker-b.txt", "b\n"))
    rows = h.rows(mac.config)
    assert [r.status for r in (mac_base, linux_base, mac_keep, linux_keep)] == ["kept"] * 4
    assert rows[mac_keep.number].parent == mac_base.number
    assert rows[linux_keep.number].parent == linux_base.number  # not the Mac's keep, made just before
    assert not rows[linux_keep.number].reason.startswith("rebased")
    lines = {mac.res.model_line(): mac, linux.res.model_line(): linux}
    assert len(lines) == 2
    branches = h.git(remote, "for-each-ref", "--format=%(refname:short)", "refs/heads/research/").split()
    assert sorted(branches) == sorted(f"research/{key}" for key in lines)
    for key, worker in lines.items():
        history = h.git(remote, "rev-list", "--first-parent", "--reverse", f"research/{key}").split()
        own = [r.commit for r in sorted(rows.values(), key=lambda r: r.number)
               if r.status == "kept" and r.model_line == key]
        assert history[1:] == own and len(own) == 2  # the line's baseline and its keep, nothing of the other
    mac_tree = h.git(remote, "ls-tree", "--name-only", rows[mac_keep.number].commit, "agent_workspace/")
    linux_tree = h.git(remote, "ls-tree", "--name-only", rows[linux_keep.number].commit, "agent_workspace/")
    assert "marker-a.txt" in mac_tree and "marker-b.txt" not in mac_tree
    assert "marker-b.txt" in linux_tree and "marker-a.txt" not in linux_tree
    with session_scope(mac.config) as db:
        assert list(db.scalars(select(Event.message).where(Event.kind == "model_line"))) == []


def test_a_line_started_from_the_other_lines_best_opens_once_then_each_keeps_its_own(tmp_path, h, daemon_env):
    """The Linux line started from the Mac's best (its research branch pointed at that commit): the Linux
    worker opens its line there once (the Mac line's baseline and best re-scored on its model); after
    that each line decides against its own incumbent, with no further line switches."""
    from sqlalchemy import select

    from loop.db.models import Event
    from loop.db.session import session_scope

    remote, mac, linux = two_lines(tmp_path, h)
    mac.iterate(None)
    mac_keep = mac.iterate(MarkerAgent("marker-a.txt", "a\n"))
    best = h.rows(mac.config)[mac_keep.number].commit
    h.git(linux.clone, "fetch", "-q", str(remote), f"refs/experiments/{mac_keep.number:04d}")
    h.git(linux.clone, "branch", "-f", "research", best)
    opened = linux.iterate(MarkerAgent("marker-b.txt", "b\n"))  # opens the Linux line at the Mac's best
    rows = h.rows(mac.config)
    assert opened.status == "kept" and rows[opened.number].parent_commit == best
    mac_next = mac.iterate(MarkerAgent("marker-c.txt", "c\n"))
    linux_next = linux.iterate(MarkerAgent("marker-d.txt", "d\n"))
    rows = h.rows(mac.config)
    assert rows[mac_next.number].parent == mac_keep.number  # the Mac's own incumbent at the shared commit
    assert rows[linux_next.number].parent == opened.number  # the Linux line's, at the same commit
    with session_scope(mac.config) as db:
        switches = list(db.scalars(select(Event.payload).where(Event.kind == "model_line")))
    assert len(switches) == 1 and switches[0]["to_line"] == linux.res.model_line()
