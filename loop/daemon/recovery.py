"""Making the record consistent after a daemon died (SIGKILL, power loss) or stopped mid-experiment.

The database row is the source of truth:
- status `running` with a `resume_step`: a stop (SIGTERM/SIGINT) suspended it cleanly; its snapshot
  commit is kept under refs/experiments/NNNN. It is left running: the next start resumes it from that
  step under the same number (`resumable`, `Iteration.resume`), reusing what its evaluations cached.
- status `running` without one: the experiment was interrupted (killed). It becomes `crashed` with "died in step X"
  (its `step` column keeps X); whatever it produced (worktree files, even uncommitted; the exp
  branch; an earlier commit) is committed under refs/experiments/NNNN with `Status: crashed`.
- a final status with step `cleanup` or `notify`: it was decided and recorded; the remaining work
  (advance the research branch for a kept one, remove the worktree) is finished.
Then stale worktrees, stray `exp/` branches and stale ref lock files are removed.

Several workers share the record (loop/daemon/leases.py): a worker recovers only the claims that are
dead or released (its own name's earlier run, an expired lease, a holder known dead on this host),
each taken over by compare-and-swap first so that one worker alone recovers it, and it leaves the
worktrees, branches and ref locks of experiments that live workers hold alone. `recover` runs at
start; `recover_claims` between iterations (a worker that died meanwhile is recovered by the others).
"""

from __future__ import annotations

import logging
from pathlib import Path

from loop.config import Config
from loop.daemon import experiments
from loop.daemon.gitrecord import GitRecord, exp_tag
from loop.daemon.leases import Claims, take_over
from loop.daemon.record import ExperimentRecord
from loop.daemon.workers import WorkerIdentity
from loop.db.models import utcnow

log = logging.getLogger("loop.daemon")
AFTER_RECORD = ("cleanup", "notify")


def close_experiment(config: Config, git: GitRecord, number: int, status: str, reason: str) -> str | None:
    """End experiment `number` as `status` (crashed/invalid) unless already decided; returns its commit."""
    row = experiments.get(config, number)
    if row.status != "running":
        complete_experiment(config, git, row)
        return row.commit
    record = ExperimentRecord.from_row(row)  # what the experiment had recorded, ended here
    record.status, record.reason, record.finished_at = status, reason, utcnow()
    record.gate = record.quality = record.delta = None  # never decided: no score to its name
    record.sum_judge(config)
    commit = None
    try:
        commit = git.salvage(number, row.parent_commit, record.message())
    except Exception as exc:
        log.error("experiment %04d: could not keep its work under refs/experiments (%s)", number, exc)
    if commit and row.parent_commit:
        try:
            record.diff = git.diff_text(row.parent_commit, commit)
        except Exception:
            record.diff = None
    record.commit = commit
    record.save(config)
    experiments.update(config, number, lease_until=None)  # closed: nobody holds it any more
    _remove(git, number)
    return commit


def complete_experiment(config: Config, git: GitRecord, row) -> None:
    """Finish the git side of a decided and recorded experiment."""
    if row.commit:
        if git.experiment_ref(row.number) is None:
            git.keep_under_experiments(row.number, row.commit)
        if row.status == "kept" and row.parent_commit:
            git.advance_research(row.commit, row.parent_commit)
    _remove(git, row.number)
    experiments.update(config, row.number, step="done", lease_until=None)


def _remove(git: GitRecord, number: int) -> None:
    try:
        git.remove_worktree(number)
    except Exception as exc:
        log.warning("experiment %04d: worktree not removed (%s); recover() will retry", number, exc)


def remove_stale_ref_locks(git: GitRecord, claims: Claims) -> list[str]:
    """Lock files a killed git left on the refs only the daemons write: the research branch's when no
    other worker is live, and those of experiments no live worker holds."""
    git_dir = Path(git.repo.git_dir)
    candidates = [] if claims.others_live else [git_dir / "refs" / "heads" / f"{git.branch}.lock"]
    for folder in (git_dir / "refs" / "experiments", git_dir / "refs" / "heads" / "exp"):
        if folder.exists():
            candidates += [lock for lock in folder.glob("*.lock") if not _spared(lock.name.split(".")[0], claims)]
    removed = []
    for lock in candidates:
        if lock.exists():
            lock.unlink()
            removed.append(str(lock.relative_to(git_dir)))
    return removed


def _spared(tag: str, claims: Claims) -> bool:
    return tag.isdigit() and claims.spared(int(tag))


def recover(config: Config, git: GitRecord, me: WorkerIdentity | None = None) -> list[str]:
    """Bring DB and git back to a consistent state; returns one line per thing done."""
    me = me or WorkerIdentity.current(config.worker)
    claims = Claims.survey(config, me)
    done = [f"removed stale lock {p}" for p in remove_stale_ref_locks(git, claims)]
    done += _recover_rows(config, git, claims, announce_resumable=True)
    done += [f"removed stale {item}" for item in git.recover(spare=lambda tag: _spared(tag, claims))]
    for line in done:
        log.info("recovery: %s", line)
    return done


def recover_claims(config: Config, git: GitRecord, me: WorkerIdentity) -> list[str]:
    """Between iterations: the claims of workers that died meanwhile (expired leases, dead holders)."""
    done = _recover_rows(config, git, Claims.survey(config, me), announce_resumable=False)
    for line in done:
        log.info("recovery: %s", line)
    return done


def _recover_rows(config: Config, git: GitRecord, claims: Claims, announce_resumable: bool) -> list[str]:
    done = []
    for row in claims.recoverable:
        if row.status == "running" and row.resume_step:
            if announce_resumable:
                done.append(f"experiment {row.number:04d} will resume from step {row.resume_step}")
            continue
        if not take_over(config, row):
            continue  # another worker is recovering it
        whose = "" if claims.why[row.number] in ("this worker's earlier run", "no lease") else \
            f" ({claims.why[row.number]})"
        if row.status == "running":
            reason = f"died in step {row.step}"
            commit = close_experiment(config, git, row.number, "crashed", reason)
            kept = f"; its work kept at refs/experiments/{exp_tag(row.number)}" if commit else ""
            done.append(f"experiment {row.number:04d} marked crashed ({reason}){kept}{whose}")
        else:
            complete_experiment(config, git, experiments.get(config, row.number))
            done.append(f"experiment {row.number:04d} ({row.status}) finished its {row.step} step{whose}")
    return done


def resumable(config: Config, me: WorkerIdentity | None = None) -> list[int]:
    """Experiments a stop suspended (released), oldest first: the next iterations resume them."""
    claims = Claims.survey(config, me or WorkerIdentity.current(config.worker))
    return [row.number for row in claims.recoverable if row.status == "running" and row.resume_step]


def suspend_experiment(config: Config, git: GitRecord, number: int, step: str, snapshot: str | None, reason: str,
                       durations: dict) -> None:
    """Leave experiment `number` resumable from `step`: its snapshot pinned (none before the agent's work
    exists: a resume from `agent` starts again from the parent commit), its worktree removed."""
    if snapshot is not None:
        git.keep_under_experiments(number, snapshot)
    experiments.update(config, number, resume_step=step, reason=f"{reason}; resumes from step {step} on restart",
                       durations=durations, lease_until=None)  # released: the next start (any worker) resumes it
    _remove(git, number)


def reopen_worktree(config: Config, git: GitRecord, number: int) -> Path:
    """The suspended experiment's worktree again, from its pinned snapshot; clears the resume mark
    (a kill during the resumed run is then a crash, as for any experiment)."""
    snapshot = git.experiment_ref(number)
    if snapshot is None:
        raise LookupError(f"experiment {number:04d} has no snapshot under refs/experiments to resume from")
    worktree = git.create_worktree(number, snapshot)
    experiments.update(config, number, resume_step=None, reason=None)
    return worktree
