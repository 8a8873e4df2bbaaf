"""The git side of the record: the research branch, one worktree per experiment, commits with trailers.

- `research` (config.research_branch) is created from the current HEAD on first use; kept
  experiments fast-forward it, so `git log research` is the story of the research.
- Experiment NNNN works in `<repo>/.autoresearch/worktrees/NNNN` on branch `exp/NNNN`, made from the
  research tip. Its final commit (one commit on top of the parent, message with trailers) is stored
  under `refs/experiments/NNNN` whatever its status, so nothing is erased; then the worktree and the
  branch go away.
- `recover()` removes what a dead daemon left behind (stale worktrees, stray `exp/` branches).

The daemon commits as "autoresearch daemon"; the repository's own identity is not needed.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import git

log = logging.getLogger(__name__)

IDENTITY = {
    "GIT_AUTHOR_NAME": "autoresearch daemon", "GIT_AUTHOR_EMAIL": "autoresearch@localhost",
    "GIT_COMMITTER_NAME": "autoresearch daemon", "GIT_COMMITTER_EMAIL": "autoresearch@localhost",
}
TRAILER_KEYS = ("Experiment", "Status", "Lever", "Operator", "Gate", "Quality", "Delta", "Ruler", "Judge",
                "Runner-Model", "Parent")
MAX_DIFF_CHARS = 200_000


def exp_tag(number: int) -> str:
    return f"{number:04d}"


def commit_message(number: int, headline: str, body: str, trailers: dict[str, object]) -> str:
    """`exp NNNN: <headline>`, a body, and `Key: value` trailers (git interpret-trailers compatible)."""
    headline = " ".join((headline or "no hypothesis stated").split())
    if len(headline) > 72:
        headline = headline[:71] + "…"
    lines = [f"{key}: {' '.join(str(value).split())}" for key, value in trailers.items()
             if value is not None and str(value) != ""]
    return f"exp {exp_tag(number)}: {headline}\n\n{body.strip()}\n\n" + "\n".join(lines) + "\n"


def parse_trailers(message: str) -> dict[str, str]:
    """The `Key: value` lines of a message's last paragraph."""
    last = message.strip().split("\n\n")[-1]
    found = {}
    for line in last.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and " " not in key:
            found[key] = value.strip()
    return found


class GitRecord:
    def __init__(self, repo: Path, research_branch: str = "research"):
        self.root = Path(repo).resolve()
        self.repo = git.Repo(self.root)
        self.branch = research_branch
        self.worktrees_dir = self.root / ".autoresearch" / "worktrees"
        self.exports_dir = self.root / ".autoresearch" / "exports"

    # --- plumbing ------------------------------------------------------------------------------
    def _git(self, *args: str, cwd: Path | None = None) -> str:
        return git.Git(str(cwd or self.root)).execute(["git", *args], env=IDENTITY, strip_newline_in_stdout=True)

    def rev(self, ref: str) -> str | None:
        try:
            return self._git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except git.GitCommandError:
            return None

    def tree_of(self, commit: str) -> str:
        return self._git("rev-parse", f"{commit}^{{tree}}")

    def file_at(self, commit: str, path: str) -> str | None:
        """A file's text as committed in `commit` (None when the commit has no such file)."""
        try:
            return self._git("show", f"{commit}:{path}")
        except git.GitCommandError:
            return None

    def commit_tree_of(self, source: str, parent: str, message: str) -> str:
        """A new commit on top of `parent` whose content is `source`'s (no ref moves)."""
        return self._git("commit-tree", self.tree_of(source), "-p", parent, "-m", message)

    # --- the research branch --------------------------------------------------------------------
    def ensure_research_branch(self) -> str:
        tip = self.rev(f"refs/heads/{self.branch}")
        if tip is None:
            tip = self._git("rev-parse", "HEAD")
            self._git("branch", self.branch, tip)
            log.info("created the research branch %r at %s (the current HEAD)", self.branch, tip[:10])
        return tip

    def research_tip(self) -> str:
        return self.ensure_research_branch()

    def advance_research(self, commit: str, expected_tip: str) -> bool:
        """Fast-forward the research branch to `commit` if it still points at `expected_tip`."""
        current = self.research_tip()
        if current == commit:
            return True
        if current != expected_tip:
            log.warning("research branch moved (%s, expected %s): not advancing to %s", current[:10],
                        expected_tip[:10], commit[:10])
            return False
        self._git("update-ref", "-m", f"autoresearch: keep {commit[:10]}", f"refs/heads/{self.branch}", commit,
                  expected_tip)
        return True

    # --- worktrees ------------------------------------------------------------------------------
    def worktree_path(self, number: int) -> Path:
        return self.worktrees_dir / exp_tag(number)

    def exp_branch(self, number: int) -> str:
        return f"exp/{exp_tag(number)}"

    def create_worktree(self, number: int, base_commit: str) -> Path:
        path = self.worktree_path(number)
        if path.exists() or self.rev(f"refs/heads/{self.exp_branch(number)}"):
            self.remove_worktree(number)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._git("worktree", "add", "--quiet", "-B", self.exp_branch(number), str(path), base_commit)
        return path

    def remove_worktree(self, number: int) -> None:
        self.remove_export(number)
        path = self.worktree_path(number)
        if path.exists():
            try:
                self._git("worktree", "remove", "--force", "--force", str(path))
            except git.GitCommandError:
                shutil.rmtree(path, ignore_errors=True)
        self._git("worktree", "prune")
        if self.rev(f"refs/heads/{self.exp_branch(number)}"):
            self._git("branch", "-D", "--quiet", self.exp_branch(number))

    # --- what is scored: the commit, exported clean ------------------------------------------
    def export_path(self, number: int) -> Path:
        return self.exports_dir / exp_tag(number)

    def export_commit(self, number: int, commit: str, prefix: str = "agent_workspace") -> Path:
        """Write `commit`'s files under `prefix` into a fresh directory, byte for byte from the object store.

        Blobs are written raw (no .gitattributes filters, eol conversion or export-subst, unlike
        `git archive`), with their modes and symlinks; a gitlink (submodule) is refused. Returns the
        export root: `<root>/<prefix>` holds exactly what a clean checkout of the commit holds."""
        dest = self.export_path(number)
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        listing = self._git("ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix)
        entries = []
        for item in listing.split("\0"):
            if not item:
                continue
            meta, path = item.split("\t", 1)
            mode, kind, sha = meta.split()
            if kind != "blob":
                raise ValueError(f"{path}: a {kind} (submodule) cannot be part of an experiment")
            entries.append((mode, sha, path))
        blobs = self._read_blobs([sha for _, sha, _ in entries])
        for mode, sha, path in entries:
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if mode == "120000":
                target.symlink_to(blobs[sha].decode("utf-8", "surrogateescape"))
            else:
                target.write_bytes(blobs[sha])
                target.chmod(0o755 if mode == "100755" else 0o644)
        return dest

    def _read_blobs(self, shas: list[str]) -> dict[str, bytes]:
        import subprocess

        unique = list(dict.fromkeys(shas))
        if not unique:
            return {}
        proc = subprocess.run(["git", "cat-file", "--batch"], cwd=self.root, input="\n".join(unique).encode() + b"\n",
                              capture_output=True, check=True)
        out, pos, blobs = proc.stdout, 0, {}
        for sha in unique:
            header_end = out.index(b"\n", pos)
            _, _, size = out[pos:header_end].split()
            start = header_end + 1
            blobs[sha] = out[start:start + int(size)]
            pos = start + int(size) + 1
        return blobs

    def outside_commit(self, worktree: Path) -> list[str]:
        """Files in the worktree that are not part of its commit: `untracked: p` and `ignored: p`."""
        others = [p for p in self._git("ls-files", "--others", "-z", cwd=worktree).split("\0") if p]
        ignored = {p for p in self._git("ls-files", "--others", "--ignored", "--exclude-standard", "-z",
                                        cwd=worktree).split("\0") if p}
        return [f"{'ignored' if p in ignored else 'untracked'}: {p}" for p in sorted(others)]

    def remove_export(self, number: int) -> None:
        shutil.rmtree(self.export_path(number), ignore_errors=True)

    def stage_tree(self, worktree: Path) -> str:
        """Stage everything in the worktree (respecting .gitignore) and return the tree id."""
        self._git("add", "-A", cwd=worktree)
        return self._git("write-tree", cwd=worktree)

    def commit_worktree(self, worktree: Path, number: int, parent: str, message: str) -> str:
        """One commit on top of `parent` with the worktree's content; also the exp branch tip."""
        tree = self.stage_tree(worktree)
        sha = self._git("commit-tree", tree, "-p", parent, "-m", message)
        self._git("update-ref", f"refs/heads/{self.exp_branch(number)}", sha)
        return sha

    def keep_under_experiments(self, number: int, commit: str) -> None:
        self._git("update-ref", f"refs/experiments/{exp_tag(number)}", commit)

    def experiment_ref(self, number: int) -> str | None:
        return self.rev(f"refs/experiments/{exp_tag(number)}")

    # --- what changed ---------------------------------------------------------------------------
    def changed_paths(self, parent: str, commit: str) -> list[str]:
        out = self._git("diff", "--name-only", "--no-renames", "-z", parent, commit)
        return [p for p in out.split("\0") if p]

    def diff_text(self, parent: str, commit: str) -> str:
        text = self._git("diff", "--stat", "--patch", parent, commit)
        if len(text) > MAX_DIFF_CHARS:
            text = text[:MAX_DIFF_CHARS] + f"\n… diff truncated at {MAX_DIFF_CHARS} characters\n"
        return text

    def message(self, commit: str) -> str:
        return self._git("log", "-1", "--format=%B", commit)

    # --- recovery -------------------------------------------------------------------------------
    def salvage(self, number: int, parent: str | None, message: str) -> str | None:
        """Keep whatever experiment `number` produced under refs/experiments/NNNN with `message`.

        Looks at, in order: the worktree's files (even uncommitted), the exp branch, an existing
        experiment ref. Returns the kept commit, or None when nothing differs from the parent."""
        path = self.worktree_path(number)
        tree = None
        try:
            if path.exists() and (path / ".git").exists():
                tree = self.stage_tree(path)
        except git.GitCommandError as exc:
            log.warning("experiment %s: worktree unreadable (%s)", number, exc)
        for ref in (f"refs/heads/{self.exp_branch(number)}", f"refs/experiments/{exp_tag(number)}"):
            if tree is None and self.rev(ref):
                tree = self.tree_of(self.rev(ref))
        existing = self.experiment_ref(number)
        if tree is None or parent is None:
            return existing
        if tree == self.tree_of(parent) and existing is None:
            return None  # it produced nothing
        sha = self._git("commit-tree", tree, "-p", parent, "-m", message)
        self.keep_under_experiments(number, sha)
        return sha

    def recover(self, spare=lambda tag: False) -> list[str]:
        """Remove stale worktrees, exports and stray exp/ branches, except those whose experiment tag
        (`NNNN`) `spare` names (live workers' experiments); returns what was cleaned."""
        cleaned = []
        if self.worktrees_dir.exists():
            for path in sorted(self.worktrees_dir.iterdir()):
                if spare(path.name):
                    continue
                try:
                    self._git("worktree", "remove", "--force", "--force", str(path))
                except git.GitCommandError:
                    shutil.rmtree(path, ignore_errors=True)
                cleaned.append(f"worktree {path.relative_to(self.root)}")
        self._git("worktree", "prune")
        if self.exports_dir.exists():
            for path in sorted(self.exports_dir.iterdir()):
                if spare(path.name):
                    continue
                shutil.rmtree(path, ignore_errors=True)
                cleaned.append(f"export {path.relative_to(self.root)}")
        for line in self._git("for-each-ref", "--format=%(refname:short)", "refs/heads/exp/").splitlines():
            if line.strip() and not spare(line.strip().removeprefix("exp/")):
                self._git("branch", "-D", "--quiet", line.strip())
                cleaned.append(f"branch {line.strip()}")
        return cleaned

    def story(self, include_experiments: bool = False) -> list[tuple[str, str]]:
        """(commit, message) of experiment commits, oldest first: the research branch, or every ref."""
        refs = [f"refs/heads/{self.branch}"]
        if include_experiments:
            refs.append("--glob=refs/experiments/*")
        out = self._git("log", "--reverse", "--format=%H%x1f%B%x1e", *refs)
        entries = []
        for chunk in out.split("\x1e"):
            sha, _, body = chunk.strip().partition("\x1f")
            if sha and body.startswith("exp "):
                entries.append((sha, body))
        return entries
