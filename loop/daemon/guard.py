"""The daemon's own checks on an experiment. Any finding makes the experiment `invalid`.

1. The ruler is intact (RULER.lock verified before and after each iteration; a mismatch halts).
2. The experiment's commit changes only `agent_workspace/` (every other path is named).
3. No gold text was written into the workspace: for every text file the experiment added or changed,
   (a) a normalised word 8-gram shared with any ruler or holdout gold question or title, or
   (b) a line whose sentence embedding has cosine >= 0.92 with a gold question.
   Only the files the diff touches are scanned: the parent tree passed the same scan (or is the
   human-made baseline), so unchanged files cannot introduce gold.
4. No output is a near-copy of the gold (`CaseOutcome.gold_leak`, set by the harness from
   `loop.sandbox.leak.gold_leak`).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel

from loop.ruler_files import load_cases
from loop.ruler_lock import verify_lock

log = logging.getLogger(__name__)

ALLOWED_PREFIX = "agent_workspace/"
NGRAM = 8
EMBED_THRESHOLD = 0.92
MIN_LINE_WORDS = 5  # shorter lines are too generic to call copies
MAX_SCANNED_LINES = 4000  # per experiment, for embedding; the n-gram check covers every line
MAX_FILE_BYTES = 2_000_000
WORD = re.compile(r"[a-z0-9]+")


class GuardFinding(BaseModel):
    check: str  # ruler | diff | gold_text | gold_output
    message: str


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


def normalise_words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def ngrams(words: list[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class GoldIndex:
    """The gold texts of the ruler and holdout, as n-grams and embeddings."""

    def __init__(self, texts: list[str], questions: list[str]):
        self.questions = questions
        self.grams: set[tuple[str, ...]] = set()
        for text in texts:
            self.grams |= ngrams(normalise_words(text))
        self._vectors = None

    @classmethod
    def from_ruler(cls, ruler_dir: Path) -> "GoldIndex":
        texts, questions = [], []
        for name in ("tasks.jsonl", "holdout.jsonl"):
            path = Path(ruler_dir) / name
            if path.exists():
                for case in load_cases(path):
                    questions += case.gold.questions
                    texts += [case.gold.title, *case.gold.questions]
        return cls(texts, questions)

    def vectors(self, embedder):
        if self._vectors is None:
            self._vectors = embedder.embed(self.questions)
        return self._vectors


@lru_cache(maxsize=4)
def _cached_index(ruler_dir: str, lock_mtime: float) -> GoldIndex:
    return GoldIndex.from_ruler(Path(ruler_dir))


def gold_index(ruler_dir: Path) -> GoldIndex:
    lock = Path(ruler_dir) / "RULER.lock"
    return _cached_index(str(ruler_dir), lock.stat().st_mtime if lock.exists() else 0.0)


def _text_lines(path: Path) -> list[str] | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:4096]:
        return None  # binary (an adapter, a model): not text
    return data.decode("utf-8", errors="replace").splitlines()


def scan_for_gold(root: Path, rel_paths: Iterable[str], index: GoldIndex, embedder=None) -> list[GuardFinding]:
    """Gold text in the given files (paths relative to `root`). `embedder=None` skips check (b)."""
    findings: list[GuardFinding] = []
    candidates: list[tuple[str, int, str]] = []
    for rel in rel_paths:
        lines = _text_lines(Path(root) / rel)
        if lines is None:
            continue
        text_grams = ngrams(normalise_words(" ".join(lines)))
        shared = text_grams & index.grams
        if shared:
            sample = " ".join(next(iter(shared)))
            findings.append(GuardFinding(check="gold_text", message=(
                f"{rel} shares {len(shared)} word 8-gram(s) with the gold (e.g. “{sample}”)")))
            continue
        for number, line in enumerate(lines, 1):
            if len(normalise_words(line)) >= MIN_LINE_WORDS:
                candidates.append((rel, number, line.strip()[:500]))
    if embedder is not None and candidates and index.questions:
        from loop.embedder import cosine_matrix

        candidates = candidates[:MAX_SCANNED_LINES]
        sims = cosine_matrix(embedder.embed([c[2] for c in candidates]), index.vectors(embedder))
        flagged: dict[str, tuple[int, float]] = {}
        for (rel, number, _line), row in zip(candidates, sims):
            best = float(row.max())
            if best >= EMBED_THRESHOLD and rel not in flagged:
                flagged[rel] = (number, best)
        for rel, (number, best) in flagged.items():
            findings.append(GuardFinding(check="gold_text", message=(
                f"{rel}:{number} is a paraphrase of a gold question (cosine {best:.2f} >= {EMBED_THRESHOLD})")))
    return findings


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
    except Exception as exc:  # model not fetched: the n-gram check still runs
        log.warning("guard: embedding check skipped (%s)", exc)
        return None


def describe(findings: list[GuardFinding]) -> str:
    return "; ".join(f.message for f in findings)
