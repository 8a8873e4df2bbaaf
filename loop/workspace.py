"""The mutable workspace's identity: a content hash over every file that can change an answer."""

from __future__ import annotations

import hashlib
from pathlib import Path

SKIPPED_PARTS = {".cache", "__pycache__", ".git", ".pytest_cache"}


def workspace_files(workspace: Path) -> list[Path]:
    workspace = Path(workspace)
    return [
        p for p in sorted(workspace.rglob("*"))
        if (p.is_file() or p.is_symlink()) and not SKIPPED_PARTS & set(p.relative_to(workspace).parts)
        and p.suffix != ".pyc"
    ]


def workspace_hash(workspace: Path) -> str:
    """sha256 over (relative path, bytes) of every workspace file; symlinks hash as their target text."""
    workspace = Path(workspace)
    digest = hashlib.sha256()
    for path in workspace_files(workspace):
        digest.update(path.relative_to(workspace).as_posix().encode() + b"\0")
        content = str(path.readlink()).encode() if path.is_symlink() else path.read_bytes()
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()
