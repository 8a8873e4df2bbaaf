"""The daemon's own checks on an experiment. Any finding makes the experiment `invalid`.

1. The ruler is intact (RULER.lock verified before and after each iteration; a mismatch halts).
2. The experiment's commit changes only `agent_workspace/` (every other path is named).
3. The committed workspace (a clean export of the commit, exactly what is scored) holds no gold and
   names no ruler/holdout task: EVERY file is read whole, whatever its size (`guard_read`); weights and
   unreadable binaries are not allowed, images are recorded by size and sha256; hidden texts (reversed,
   base64/base32/hex, escapes, ROT13, compressed payloads) are decoded; every text and decoded text is
   matched after `loop.textnorm` folding (`guard_gold`: character stretches of gold questions and titles,
   whole gold questions, task names, a gold question spread over several files) and every line is
   considered for the semantic check (cosine with gold questions and tasks). Files the experiment
   left in its worktree outside the commit (untracked, ignored) are scanned the same way: they are
   never scored, but gold in them is an attempt all the same.
4. No output is a near-copy of the gold (`CaseOutcome.gold_leak`, set by the harness from
   `loop.sandbox.leak.gold_leak`).

What the guard cannot see: gold computed by code from pieces smaller than its windows (words picked
from a dictionary by index, arithmetic on character codes), ciphers other than the decoders above
(XOR with a key, custom alphabets), gold hidden in image pixels, and paraphrases loose enough to pass
the semantic threshold; the output check and the judge's noise floor are the backstops there. Only lines
with lexical evidence are embedded (`GoldIndex.candidate_lines`): a line whose words shared with a gold
question carry less than half of the question's IDF weight (e.g. only its common words, "each", "time"),
a line sharing fewer than all but one of a task's content words, a line of under 3 or over 60 words, and
a question made only of stopwords are read by the lexical checks alone.
"""

from __future__ import annotations

import logging
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel

from loop.daemon.guard_gold import EMBED_THRESHOLD, SPLIT_LINES, TASK_THRESHOLD, GoldIndex, Hit
from loop.daemon.guard_read import FileRead, decoded_variants, read_file
from loop.ruler_lock import verify_lock
from loop.textnorm import squeeze, squeeze_bytes

log = logging.getLogger(__name__)

ALLOWED_PREFIX = "agent_workspace/"
SPLIT_MIN_CHARS = 30
SEGMENT_MIN_CHARS = 8
_LITERAL = re.compile(r""""([^"\n]{6,}?)"|'([^'\n]{6,}?)'""")
__all__ = ["GoldIndex", "GuardFinding", "RulerTampered", "WorkspaceScan", "scan_workspace", "scan_for_gold"]


class GuardFinding(BaseModel):
    check: str  # ruler | diff | gold_text | task_text | weights | unreadable | gold_output
    message: str


class RecordedBinary(BaseModel):
    path: str
    kind: str
    size: int
    sha256: str


class WorkspaceScan(BaseModel):
    findings: list[GuardFinding]
    binaries: list[RecordedBinary]
    files: int
    bytes: int


class RulerTampered(RuntimeError):
    """The ruler on disk no longer matches RULER.lock: the daemon must halt."""


def check_ruler(ruler_dir: Path) -> list[str]:
    return verify_lock(ruler_dir)


def require_intact_ruler(ruler_dir: Path, when: str) -> None:
    problems = check_ruler(ruler_dir)
    if problems:
        raise RulerTampered(f"ruler differs from RULER.lock {when}: " + "; ".join(problems))


def outside_workspace(paths: Iterable[str]) -> list[str]:
    return sorted(p for p in paths if not p.startswith(ALLOWED_PREFIX))


@lru_cache(maxsize=4)
def _cached_index(ruler_dir: str, lock_mtime: float) -> GoldIndex:
    return GoldIndex.from_ruler(Path(ruler_dir))


def gold_index(ruler_dir: Path) -> GoldIndex:
    lock = Path(ruler_dir) / "RULER.lock"
    return _cached_index(str(ruler_dir), lock.stat().st_mtime if lock.exists() else 0.0)


def all_files(root: Path) -> list[str]:
    """Every file and symlink under `root` (relative POSIX paths), hidden ones included."""
    root = Path(root)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in filenames + [d for d in dirnames if (base / d).is_symlink()]:
            found.append((base / name).relative_to(root).as_posix())
    return sorted(found)


class _FileResult:
    __slots__ = ("hits", "lines", "segments")

    def __init__(self, hits: list[tuple[str, Hit]], lines: list[tuple[str, int]], segments: set[str]):
        self.hits, self.lines, self.segments = hits, lines, segments


_RESULTS: dict[tuple[int, str], _FileResult] = {}


def _scan_text(index: GoldIndex, read: FileRead) -> _FileResult:
    key = (id(index), read.sha256)
    if key in _RESULTS:
        return _RESULTS[key]
    text = read.text or ""
    squeezed = squeeze_bytes(text)
    hits = [("", hit) for hit in index.lexical_hits(text, squeezed)]
    lines: dict[str, int] = {}  # line or string literal -> the number of the first line holding it
    _collect_lines(text, lines)
    for how, variant in decoded_variants(text):
        # squeezing maps ASCII text character by character: a reversed ASCII text squeezes to the reversed squeeze
        known = squeezed[::-1] if how == "reversed" and text.isascii() else None
        hits += [(how, hit) for hit in index.lexical_hits(variant, known)]
        if how == "escapes" or how.startswith(("base64", "hex")):
            _collect_lines(variant, lines)
    segments = {s for s in (squeeze(part) for part in lines) if len(s) >= SEGMENT_MIN_CHARS}
    result = _FileResult(hits, list(lines.items()), segments)
    if len(_RESULTS) > 50_000:
        _RESULTS.clear()
    _RESULTS[key] = result
    return result


def _collect_lines(text: str, into: dict[str, int]) -> None:
    """Every sentence piece and quoted literal of `text`'s lines; a line repeated further down is read once."""
    first: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        first.setdefault(line, number)
    for line, number in first.items():
        for part in SPLIT_LINES.split(line):
            if part.strip():
                into.setdefault(part, number)
        if '"' in line or "'" in line:
            for match in _LITERAL.finditer(line):
                into.setdefault(match.group(1) or match.group(2), number)


def scan_workspace(root: Path, index: GoldIndex, embedder=None, *, rel_paths: Iterable[str] | None = None,
                   label: str = "") -> WorkspaceScan:
    """Scan every file under `root` (or only `rel_paths`); `embedder=None` skips the semantic check."""
    root = Path(root)
    findings: list[GuardFinding] = []
    binaries: list[RecordedBinary] = []
    line_owner: dict[str, tuple[str, int]] = {}
    segments: set[str] = set()
    flagged_files: set[str] = set()
    total = 0
    paths = list(rel_paths) if rel_paths is not None else all_files(root)
    for rel in paths:
        shown = f"{label}{rel}"
        try:
            read = read_file(root, rel)
        except OSError as exc:
            findings.append(GuardFinding(check="unreadable", message=f"{shown} cannot be read ({exc})"))
            continue
        total += read.size
        if read.kind == "weights":
            findings.append(GuardFinding(check="weights", message=(
                f"{shown} is a weight file ({read.detail}, {read.size} bytes): weights live in the adapter store, "
                "the workspace holds pointers only")))
            continue
        if read.kind == "unreadable":
            findings.append(GuardFinding(check="unreadable", message=f"{shown} is a {read.detail}: the guard cannot "
                                         "read it, so the pipeline may not use it"))
            continue
        if read.kind == "symlink":
            target = (root / rel).parent / (read.text or "")
            if Path(read.text or "").is_absolute() or not _inside(target, root):
                findings.append(GuardFinding(check="unreadable", message=f"{shown} is a symlink leaving the workspace"))
            continue
        if read.kind == "image":
            binaries.append(RecordedBinary(path=shown, kind=read.detail, size=read.size, sha256=read.sha256))
        result = _scan_text(index, read)
        segments |= result.segments
        for how, hit in result.hits:
            check = "task_text" if "task" in hit.how else "gold_text"
            where = f" ({how}-encoded)" if how else ""
            findings.append(GuardFinding(check=check, message=f"{shown}{where} has {hit.how} ({hit.case_id})"))
            flagged_files.add(rel)
        for line, number in result.lines:
            line_owner.setdefault(line, (shown, number))
    findings = _dedupe(findings)
    findings += _split_across_files(index, segments, flagged_files)
    if embedder is not None and line_owner:
        findings += _semantic(index, embedder, line_owner)
    return WorkspaceScan(findings=findings, binaries=binaries, files=len(paths), bytes=total)


def _inside(path: Path, root: Path) -> bool:
    try:
        Path(os.path.normpath(path)).relative_to(os.path.normpath(root))
        return True
    except ValueError:
        return False


def _dedupe(findings: list[GuardFinding]) -> list[GuardFinding]:
    seen, out = set(), []
    for finding in findings:
        if finding.message not in seen:
            seen.add(finding.message)
            out.append(finding)
    return out


def _split_across_files(index: GoldIndex, segments: set[str], flagged: set[str]) -> list[GuardFinding]:
    """A gold question put together from 2..4 whole lines or string literals (of any files, in any order)."""
    if flagged:
        return []
    found = []
    for gold in index.golds:
        text = gold.squeezed.decode()
        if gold.kind != "question" or len(text) < SPLIT_MIN_CHARS:
            continue
        pieces = _cover(text, segments)
        if pieces and 2 <= pieces <= 4:
            found.append(GuardFinding(check="gold_text", message=(
                f"a gold question of {gold.case_id} is put together from {pieces} separate lines or strings")))
    return found


def _cover(text: str, segments: set[str]) -> int | None:
    """Fewest segments (each >= SEGMENT_MIN_CHARS) that spell `text` end to end, or None."""
    best: list[int | None] = [0] + [None] * len(text)
    for i in range(len(text)):
        if best[i] is None:
            continue
        for j in range(i + SEGMENT_MIN_CHARS, len(text) + 1):
            if text[i:j] in segments and (best[j] is None or best[j] > best[i] + 1):
                best[j] = best[i] + 1
    return best[len(text)]


def _semantic(index: GoldIndex, embedder, line_owner: dict[str, tuple[str, int]]) -> list[GuardFinding]:
    candidates = index.candidate_lines(list(line_owner))
    if not candidates:
        return []
    from loop.textnorm import normalise

    owner = {}
    for line, where in line_owner.items():
        owner.setdefault(normalise(line), where)
    scores = index.semantic_scores(candidates, embedder)
    flagged: dict[str, GuardFinding] = {}
    for line, (to_gold, _g, to_task, t) in scores.items():
        shown, number = owner[line]
        if to_gold >= EMBED_THRESHOLD and shown not in flagged:
            flagged[shown] = GuardFinding(check="gold_text", message=(
                f"{shown}:{number} is a paraphrase of a gold question (cosine {to_gold:.2f} >= {EMBED_THRESHOLD})"))
        elif to_task >= TASK_THRESHOLD and shown not in flagged:
            flagged[shown] = GuardFinding(check="task_text", message=(
                f"{shown}:{number} names a ruler/holdout task ({index.tasks[t][0]}, cosine {to_task:.2f} >= "
                f"{TASK_THRESHOLD})"))
    return list(flagged.values())


def scan_for_gold(root: Path, rel_paths: Iterable[str], index: GoldIndex, embedder=None) -> list[GuardFinding]:
    """Gold text in the given files (paths relative to `root`)."""
    return scan_workspace(root, index, embedder, rel_paths=rel_paths).findings


def leaked_outputs(outcomes: Iterable) -> list[GuardFinding]:
    leaks = [o.case_id for o in outcomes if getattr(o, "gold_leak", False)]
    if not leaks:
        return []
    return [GuardFinding(check="gold_output", message=f"outputs are near-copies of the gold on {', '.join(leaks)}")]


def default_embedder():
    """The shared MiniLM embedder, or None (with a log line) when its model files are missing."""
    try:
        from loop.embedder import get_embedder

        return get_embedder()
    except Exception as exc:  # model not fetched: the lexical checks still run
        log.warning("guard: embedding check skipped (%s)", exc)
        return None


def describe(findings: list[GuardFinding]) -> str:
    return "; ".join(f.message for f in findings)
