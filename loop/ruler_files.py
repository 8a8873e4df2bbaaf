"""Loading the frozen ruler: cases, gates, and the ruler id. Every error names file and line."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

from pydantic import ValidationError

from loop.config import toml_error_line
from loop.errors import InputError
from loop.schemas import Case

LOCK_NAME = "RULER.lock"


def load_cases(path: Path) -> list[Case]:
    """Parse a JSONL case file. Lines starting with '#' are the frozen banner and are skipped."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(path, f"not valid JSON ({exc.msg} at column {exc.colno})", line=number) from None
        try:
            case = Case.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(path, f"field `{where}`: {first['msg']}", line=number) from None
        problem = case.gold.shape_problem()
        if problem:
            raise InputError(path, f"case {case.id}: gold answer has {problem}", line=number)
        if case.id in seen:
            raise InputError(path, f"duplicate id {case.id!r} (first on line {seen[case.id]})", line=number)
        seen[case.id] = number
        cases.append(case)
    if not cases:
        raise InputError(path, "no cases")
    return cases


def load_gates(ruler_dir: Path, cases: list[Case]) -> dict[str, list[str]]:
    path = Path(ruler_dir) / "gates.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}", line=toml_error_line(exc)) from None
    known = [c.id for c in cases]
    gates: dict[str, list[str]] = {}
    for name, table in data.items():
        ids = table.get("ids") if isinstance(table, dict) else None
        if ids == "all":
            gates[name] = known
            continue
        if not isinstance(ids, list) or not ids:
            raise InputError(path, f"gate [{name}] needs `ids = [...]` or `ids = \"all\"`")
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise InputError(path, f"gate [{name}] names unknown case ids {unknown}")
        gates[name] = list(ids)
    return gates


def gate_cases(ruler_dir: Path, gate: str) -> list[Case]:
    """The cases of a gate: 'dev', 'full', or 'holdout' (the sealed extra cases)."""
    ruler_dir = Path(ruler_dir)
    if gate == "holdout":
        return load_cases(ruler_dir / "holdout.jsonl")
    cases = load_cases(ruler_dir / "tasks.jsonl")
    gates = load_gates(ruler_dir, cases)
    if gate not in gates:
        raise InputError(ruler_dir / "gates.toml", f"no gate named {gate!r}; known: {', '.join(gates)} and holdout")
    by_id = {c.id: c for c in cases}
    return [by_id[i] for i in gates[gate]]


def ruler_files(ruler_dir: Path) -> list[Path]:
    """Every file under ruler/ (symlinks included as entries, bytecode too), sorted, the lock excluded.

    Nothing is skipped: ruler code is loaded from source only (`loop.ruler_loader`), so a `__pycache__`
    here was planted, and it must show in `ruler verify` and change the ruler id."""
    ruler_dir = Path(ruler_dir)
    found = []
    for path in sorted(ruler_dir.rglob("*")):
        rel = path.relative_to(ruler_dir)
        if rel.as_posix() == LOCK_NAME:
            continue
        if path.is_symlink() or path.is_file():
            found.append(path)
    return found


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes; a symlink hashes as its target text, so replacing a file by one shows."""
    if path.is_symlink():
        return "symlink:" + hashlib.sha256(str(path.readlink()).encode()).hexdigest()
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ruler_id(ruler_dir: Path, judge_id: str) -> str:
    """sha256 over every ruler file (path + digest) plus the judge id (which includes model and mode)."""
    digest = hashlib.sha256()
    for path in ruler_files(ruler_dir):
        digest.update(path.relative_to(ruler_dir).as_posix().encode() + b"\0")
        digest.update(file_digest(path).encode() + b"\0")
    digest.update(b"judge\0" + judge_id.encode())
    return digest.hexdigest()
