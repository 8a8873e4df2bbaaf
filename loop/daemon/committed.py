"""Score exactly what is committed: an experiment's clean export, and the guard run over it.

The daemon never evaluates the live worktree. After the agent, the worktree is committed; that commit
is exported byte for byte (`GitRecord.export_commit`) into `.autoresearch/exports/NNNN/`, the guard
reads every file of the export, and every official evaluation of the experiment runs on the export.
Files the worktree holds outside the commit (git-ignored ones: caches, notes) are never scored; they are
listed in the record (`Experiment.outside_commit`) and scanned for gold all the same, since gold there
shows an attempt (the agent's own evaluations saw them). Images found in the export are recorded
with size and sha256 (`Experiment.workspace_binaries`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from loop.config import Config
from loop.daemon import experiments, guard

WORKSPACE = "agent_workspace"


@dataclass
class CommittedWorkspace:
    number: int
    commit: str
    root: Path  # the export root; `workspace` is its agent_workspace/
    outside_commit: list[str] = field(default_factory=list)

    @property
    def workspace(self) -> Path:
        return self.root / WORKSPACE


def export_experiment(git, number: int, commit: str, worktree: Path) -> CommittedWorkspace:
    root = git.export_commit(number, commit, WORKSPACE)
    (root / WORKSPACE).mkdir(exist_ok=True)
    return CommittedWorkspace(number, commit, root, git.outside_commit(worktree))


def check(config: Config, committed: CommittedWorkspace, worktree: Path, embedder) -> list[guard.GuardFinding]:
    """The guard over the whole export and over the worktree's files outside the commit; records both."""
    index = guard.gold_index(config.ruler_dir)
    scan = guard.scan_workspace(committed.workspace, index, embedder)
    outside = [entry.split(": ", 1)[1] for entry in committed.outside_commit]
    extra = guard.scan_workspace(worktree, index, embedder, rel_paths=outside, label="outside the commit: ")
    experiments.update(config, committed.number, outside_commit=committed.outside_commit or None,
                       workspace_binaries=[b.model_dump() for b in scan.binaries] or None)
    # an ignored file is not scored, so only gold (not a cache's binary format) counts against it
    return scan.findings + [f for f in extra.findings if f.check in ("gold_text", "task_text")]
