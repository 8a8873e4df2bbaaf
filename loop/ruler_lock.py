"""RULER.lock: the recorded hash and mode of every ruler file; `verify` names every difference."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from loop.ruler_files import LOCK_NAME, file_digest, ruler_files

LOCK_HEADER = "FROZEN RULER LOCK. Written by `autoresearch ruler lock`; checked by `autoresearch ruler verify`."


def snapshot(ruler_dir: Path) -> dict[str, dict]:
    ruler_dir = Path(ruler_dir)
    entries = {}
    for path in ruler_files(ruler_dir):
        info = path.lstat()
        entries[path.relative_to(ruler_dir).as_posix()] = {
            "sha256": file_digest(path),
            "mode": oct(stat.S_IMODE(info.st_mode)),
            "type": "symlink" if path.is_symlink() else "file",
        }
    return entries


def write_lock(ruler_dir: Path) -> Path:
    lock = Path(ruler_dir) / LOCK_NAME
    lock.write_text(json.dumps({"_comment": LOCK_HEADER, "files": snapshot(ruler_dir)}, indent=2, sort_keys=True) + "\n")
    return lock


def read_lock(ruler_dir: Path) -> dict[str, dict]:
    lock = Path(ruler_dir) / LOCK_NAME
    if not lock.exists():
        raise FileNotFoundError(f"{lock} is missing: run `autoresearch ruler lock` (or `autoresearch init`)")
    return json.loads(lock.read_text())["files"]


def verify_lock(ruler_dir: Path) -> list[str]:
    """Every difference between the ruler on disk and its lock; empty means intact."""
    try:
        locked = read_lock(ruler_dir)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        return [f"lock unreadable: {exc}"]
    current = snapshot(ruler_dir)
    problems: list[str] = []
    removed = {p: e for p, e in locked.items() if p not in current}
    added = {p: e for p, e in current.items() if p not in locked}
    for old, entry in list(removed.items()):
        twin = next((new for new, e in added.items() if e["sha256"] == entry["sha256"]), None)
        if twin:
            problems.append(f"renamed: {old} -> {twin}")
            removed.pop(old)
            added.pop(twin)
    problems += [f"removed: {p}" for p in sorted(removed)]
    problems += [f"added: {p}" + (BYTECODE_HINT if _is_bytecode(p) else "") for p in sorted(added)]
    problems += [f"bytecode directory: {d}/{BYTECODE_HINT}" for d in _bytecode_dirs(ruler_dir)
                 if not any(p.startswith(d + "/") for p in added)]
    for path in sorted(set(locked) & set(current)):
        was, now = locked[path], current[path]
        if was.get("type") != now["type"]:
            problems.append(f"replaced by a {now['type']}: {path}")
        elif was["sha256"] != now["sha256"]:
            problems.append(f"changed: {path}")
        if _comparable_mode(was["mode"]) != _comparable_mode(now["mode"]):
            problems.append(f"mode changed: {path} ({was['mode']} -> {now['mode']})")
    return problems


BYTECODE_HINT = " (ruler code is loaded from source only: bytecode under ruler/ was planted; delete it)"


def _is_bytecode(rel: str) -> bool:
    return "__pycache__" in rel.split("/") or rel.endswith((".pyc", ".pyo", ".so", ".pyd"))


def _bytecode_dirs(ruler_dir: Path) -> list[str]:
    return sorted(p.relative_to(ruler_dir).as_posix() for p in Path(ruler_dir).rglob("__pycache__") if p.is_dir())


def _comparable_mode(mode: str) -> int:
    """Permission bits, less group-write: umask 002 vs 022 on a fresh clone must not read as tampering."""
    return int(mode, 8) & ~0o020
