"""The shared history of several workers: one git remote (`research_remote`) holding the research branch
of each model line and every experiment's commit, each worker working in its own clone.

Model lines never mix: on the remote each line has its own branch, `<research_branch>/<line key>` (the
key of `loop.model_line`; `autoresearch status` and the record's `model_line` events name the model
behind it), which the worker's local research branch follows. A Mac on the Apple model and a Linux box
on the portable model therefore each branch from, rebase onto and decide against their own line's tip
and incumbent; the record, its numbers and the shared limits stay one. A worker whose line has no branch
yet creates it from its local tip (a new line starts where the worker's research stood).

- `sync`: fetch the remote's research tip and point the local research branch at it (an experiment
  branches from the tip as of its claim). A remote without the branch gets the local tip, pushed as a
  compare-and-swap on "absent". A local tip the remote does not contain is kept under
  `refs/autoresearch/local-research/<sha>` before the branch follows the remote, so nothing is lost.
- `advance`: the research branch moved on the remote by compare-and-swap
  (`git push --force-with-lease=<branch>:<expected sha>`): True when it moved, False when another
  worker moved it first (the caller re-decides against the new tip and tries again).
- `publish`: an experiment's commit pushed under `refs/experiments/NNNN`, whatever its status.
- `rebase`: a candidate's change replayed onto a new tip (`git merge-tree --write-tree`, no worktree
  touched): a commit on the new tip, or the conflicting paths.

A remote that refuses a push for any other reason (a hook, permissions, a full disk) raises
`RemoteRejected` with git's own words; the experiment stays in the local record and refs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import git

from loop.daemon.gitrecord import IDENTITY, GitRecord, exp_tag

log = logging.getLogger("loop.daemon")

MOVED = ("stale info", "fetch first", "non-fast-forward")  # git's words for a lost compare-and-swap


class RemoteRejected(RuntimeError):
    """The research remote refused a push or a fetch that should have worked."""


@dataclass
class Rebased:
    commit: str | None  # the candidate's change on the new tip (None: it conflicts)
    conflicts: list[str] = field(default_factory=list)


def line_branch(branch: str, line: str) -> str:
    """The remote's research branch of one model line."""
    return f"{branch}/{line}"


class ResearchRemote:
    def __init__(self, record: GitRecord, url: str, line: Callable[[], str]):
        """`line`: the model line key of this worker's runner as it answers now (asked at every sync)."""
        self.git, self.url, self._line = record, url, line
        self.local_ref = f"refs/heads/{record.branch}"
        self._branch: str | None = None  # asked of the runner on first use, not when the daemon starts

    @property
    def branch(self) -> str:
        if self._branch is None:
            self._branch = line_branch(self.git.branch, self._line())
        return self._branch

    @property
    def branch_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @property
    def tracking(self) -> str:
        return f"refs/remotes/autoresearch/{self.branch}"

    def _run(self, *args: str) -> tuple[int, str, str]:
        status, out, err = git.Git(str(self.git.root)).execute(
            ["git", *args], env=IDENTITY, with_extended_output=True, with_exceptions=False)
        return status, out, err

    def _fail(self, what: str, out: str, err: str) -> RemoteRejected:
        words = " ".join((err.strip() or out.strip() or "no message").split())
        return RemoteRejected(f"the research remote {self.url} rejected {what}: {words}")

    # --- the tip -------------------------------------------------------------------------------
    def remote_tip(self) -> str | None:
        status, out, err = self._run("ls-remote", "--refs", self.url, self.branch_ref)
        if status != 0:
            words = " ".join((err.strip() or out.strip() or "no message").split())
            raise RemoteRejected(f"the research remote {self.url} is unreachable (git ls-remote): {words}")
        return out.split()[0] if out.strip() else None

    def sync(self) -> str:
        """The remote's research tip of this worker's model line, fetched, and the local research branch
        pointed at it."""
        self._branch = line_branch(self.git.branch, self._line())  # the model may have changed (an OS update)
        for _ in range(5):
            tip = self.remote_tip()
            if tip is None:
                local = self.git.ensure_research_branch()
                if self._push(local, self.branch_ref, lease=""):
                    log.info("research remote: created %s at %s", self.branch, local[:10])
                    return local
                continue  # another worker created it first
            status, out, err = self._run("fetch", "--quiet", "--no-tags", self.url,
                                         f"+{self.branch_ref}:{self.tracking}")
            if status != 0:
                raise self._fail("a fetch", out, err)
            tip = self.git.rev(self.tracking)
            self._follow(tip)
            return tip
        raise RemoteRejected(f"the research remote {self.url}: the branch {self.branch} kept changing")

    def _follow(self, tip: str) -> None:
        local = self.git.rev(self.local_ref)
        if local == tip:
            return
        if local is not None and self._run("merge-base", "--is-ancestor", local, tip)[0] != 0:
            keep = f"refs/autoresearch/local-research/{local[:12]}"
            self.git._git("update-ref", keep, local)
            log.warning("research remote: the local %s (%s) is not on the remote; kept under %s",
                        self.git.branch, local[:10], keep)
        self.git._git("update-ref", "-m", "autoresearch: follow the research remote", self.local_ref, tip)

    # --- pushes --------------------------------------------------------------------------------
    def _push(self, commit: str, ref: str, lease: str | None) -> bool:
        """Push `commit` to `ref`; with `lease` (an expected sha, "" for absent) a compare-and-swap."""
        args = ["push", "--porcelain", "--no-verify", self.url]
        if lease is not None:
            args.insert(2, f"--force-with-lease={ref}:{lease}")
            args.append(f"{commit}:{ref}")
        else:
            args.append(f"+{commit}:{ref}")
        status, out, err = self._run(*args)
        if status == 0:
            return True
        if lease is not None and any(word in out + err for word in MOVED):
            return False
        raise self._fail(f"the push of {commit[:10]} to {ref}", out, err)

    def advance(self, commit: str, expected_tip: str) -> bool:
        """Move the remote's research branch from `expected_tip` to `commit`; False if it moved meanwhile."""
        if not self._push(commit, self.branch_ref, lease=expected_tip):
            log.warning("research remote: %s moved (expected %s): re-deciding", self.branch, expected_tip[:10])
            return False
        self._follow(commit)
        return True

    def publish(self, number: int, commit: str) -> None:
        self._push(commit, f"refs/experiments/{exp_tag(number)}", lease=None)

    # --- rebase --------------------------------------------------------------------------------
    def rebase(self, candidate: str, parent: str, new_tip: str, message: str) -> Rebased:
        """`candidate` (one commit on `parent`) replayed onto `new_tip` (which has `parent` as ancestor)."""
        status, out, err = self._run("merge-tree", "--write-tree", "--name-only", "--no-messages",
                                     new_tip, candidate)
        if status not in (0, 1):
            raise RuntimeError(f"git merge-tree {new_tip[:10]} {candidate[:10]}: {err.strip()}")
        tree, *paths = [line for line in out.splitlines() if line.strip()]
        if status == 1:
            return Rebased(None, sorted(set(paths)))
        return Rebased(self.git._git("commit-tree", tree, "-p", new_tip, "-m", message))
