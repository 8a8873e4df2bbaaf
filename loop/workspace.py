"""The mutable workspace's identity: a content hash over every file the pipeline can see.

Nothing under the workspace is skipped (caches, `__pycache__`, hidden and git-ignored files included):
the pipeline can read all of them, so two workspaces that differ in any file never share a generation
cache entry. The daemon hashes a clean export of the experiment's commit, so its hash is the hash of
any clean checkout of that commit; a live worktree with extra (ignored) files hashes differently.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def workspace_files(workspace: Path) -> list[Path]:
    workspace = Path(workspace)
    found = []
    for dirpath, dirnames, filenames in os.walk(workspace):
        base = Path(dirpath)
        if base == workspace and ".git" in filenames:
            filenames = [f for f in filenames if f != ".git"]  # a worktree's pointer file, not content
        dirnames[:] = [d for d in dirnames if not (base == workspace and d == ".git")]
        found += [base / name for name in filenames]
        found += [base / d for d in dirnames if (base / d).is_symlink()]
    return sorted(found)


def workspace_hash(workspace: Path) -> str:
    """sha256 over (relative path, bytes) of every workspace file; symlinks hash as their target text."""
    workspace = Path(workspace)
    digest = hashlib.sha256()
    for path in workspace_files(workspace):
        digest.update(path.relative_to(workspace).as_posix().encode() + b"\0")
        if path.is_symlink():
            content_digest = hashlib.sha256(b"symlink:" + str(path.readlink()).encode()).digest()
        else:
            content_digest = _file_digest(path)
        digest.update(content_digest)
    return digest.hexdigest()


def _file_digest(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.digest()
