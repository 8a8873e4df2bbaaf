"""Where gold text (or a ruler/holdout task) shows in a text: the guard's matcher.

All texts go through `loop.textnorm` first. Lexical checks run on the squeezed text (normalised, spaces
removed: "W h a t", "w.h.a.t", look-alike letters and zero-width characters all read as "what"), by
rolling hashes of character windows computed with numpy, so that a 50 MB file costs seconds:
- a stretch of >= `RUN_CHARS` consecutive characters of one gold question or title (about eight words);
- a whole gold question of >= `WHOLE_MIN_CHARS` characters, or `CASE_QUESTIONS` whole questions of one case;
- a ruler or holdout task named as a phrase (word boundaries kept).
The semantic check embeds every distinct line that shares enough lexical evidence with a gold question or
a task (`candidate_lines`; a line sharing less cannot reach the cosine thresholds) and flags cosine >=
`EMBED_THRESHOLD` with a gold question or >= `TASK_THRESHOLD` with a task. Evidence for a gold question is
weighed by how informative the shared words are: their IDF over the index's own targets (gold questions and
tasks, the frozen ruler and holdout) must add up to at least `SHARE_OF_QUESTION` of the question's, and at
least two content words are shared (one, for a question that has only one). So "each" and "time" (in 14 and 11 of the 400 targets) do not make a
line a candidate for "How much time can you dedicate each week?", while "dedicate" plus either does. A task
is matched on all but one of its content words. Results per line are cached.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from loop.ruler_files import load_cases
from loop.textnorm import normalise, squeeze, squeeze_bytes

WINDOW = 12
RUN_CHARS = 34
WHOLE_MIN_CHARS = 24
CASE_QUESTIONS = 2
CASE_MIN_CHARS = 12
EMBED_THRESHOLD = 0.92
TASK_THRESHOLD = 0.9
MIN_LINE_WORDS = 3
MIN_SHARED_WORDS = 2
SHARE_OF_QUESTION = 0.5  # of a gold question's IDF mass, carried by the words a line shares with it
MAX_LINE_WORDS = 60
CHUNK = 4_000_000
BUCKET_BITS = 22  # 4 Mi buckets (4 MiB): a cheap pre-check before the exact binary search
STOPWORDS = set("""a an the and or of to for in on at by with from your you my our we i is are was were be been do does
did will would can could should have has had what which who whom whose when where why how this that these those it
its any some there their they them me us about into as if so than then too very just also more most much many
""".split())
_MULT = np.uint64(1099511628211)
_BUCKET_MASK = np.uint64((1 << BUCKET_BITS) - 1)


def _window_hashes(data: bytes, width: int) -> np.ndarray:
    """Polynomial hash of every `width`-byte window, sum of data[i + k] * MULT^(width - 1 - k) (uint64
    arithmetic wraps: a deterministic hash), from prefix sums: with MULT odd it has an inverse mod 2^64, so
    with Q[n] = sum of data[j] * MULT^-j over j < n, window i is (Q[i + width] - Q[i]) * MULT^(i + width - 1).
    A handful of passes over the data whatever the width (instead of two per byte of the window)."""
    if len(data) < width:
        return np.zeros(0, dtype=np.uint64)
    arr = np.frombuffer(data, dtype=np.uint8).astype(np.uint64)
    n, count = len(arr), len(arr) - width + 1
    up, down = _powers(n)
    with np.errstate(over="ignore"):
        arr *= down[:n]
        prefix = np.empty(n + 1, dtype=np.uint64)
        prefix[0] = 0
        np.cumsum(arr, out=prefix[1:])
        out = prefix[width:] - prefix[:count]
        out *= up[width - 1:n]
    return out


_MULT_INVERSE = np.uint64(pow(int(_MULT), -1, 1 << 64))
_POWERS: list[tuple[np.ndarray, np.ndarray]] = []


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """MULT^i and MULT^-i for i < n at least (grown by doubling, kept: the scan asks for CHUNK-sized pieces)."""
    if _POWERS and len(_POWERS[0][0]) >= n:
        return _POWERS[0]
    up, down = np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        while len(up) < n:
            step = len(up)
            up = np.concatenate((up, up * (up[-1] * _MULT)))  # up[-1] * MULT == MULT^step
            down = np.concatenate((down, down * (down[-1] * _MULT_INVERSE)))
            assert len(up) == 2 * step
    _POWERS[:] = [(up, down)]
    return up, down


@dataclass
class GoldText:
    case_id: str
    kind: str  # question | title
    text: str
    squeezed: bytes
    hashes: np.ndarray = field(repr=False)
    hash_list: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self):
        self.hash_list = self.hashes.tolist()


@dataclass
class Hit:
    how: str
    case_id: str
    text: str


class GoldIndex:
    """The gold of the ruler and the holdout (questions, titles) and their tasks, ready to match."""

    def __init__(self, golds: list[tuple[str, str, str]], tasks: list[tuple[str, str]]):
        self.golds = [GoldText(cid, kind, text, squeeze(text).encode(), _window_hashes(squeeze(text).encode(), WINDOW))
                      for cid, kind, text in golds]
        self.questions = [g.text for g in self.golds if g.kind == "question"]
        self.tasks = tasks
        self.task_phrases = [(cid, " " + normalise(task) + " ", squeeze(task).encode()) for cid, task in tasks]
        # a task is looked for in a text only when all its windows are there (tasks shorter than a window: always)
        self._task_windows = [_window_hashes(squeezed, WINDOW).tolist() for _, _, squeezed in self.task_phrases]
        self._short_tasks = [n for n, windows in enumerate(self._task_windows) if not windows]
        self._tasks_by_hash: dict[int, list[int]] = {}
        for number, windows in enumerate(self._task_windows):
            for h in set(windows):
                self._tasks_by_hash.setdefault(h, []).append(number)
        all_hashes = [g.hashes for g in self.golds if len(g.hashes)] + \
                     [np.asarray(w, dtype=np.uint64) for w in self._task_windows if w]
        self.gold_hashes = np.unique(np.concatenate(all_hashes)) if all_hashes else np.zeros(0, dtype=np.uint64)
        # a bit per low-bits bucket of the gold hashes: most windows of a text are ruled out by one gather
        self._gold_bits = np.zeros(1 << BUCKET_BITS, dtype=bool)
        self._gold_bits[(self.gold_hashes & _BUCKET_MASK).astype(np.intp)] = True
        # window hash -> the golds holding it, so a file is compared only with golds it shares a window with
        self._golds_by_hash: dict[int, list[int]] = {}
        for number, gold in enumerate(self.golds):
            for h in set(gold.hash_list):
                self._golds_by_hash.setdefault(h, []).append(number)
        self.content = [(g, _content_words(g.text)) for g in self.golds if g.kind == "question"]
        self.task_content = [(cid, task, _content_words(task)) for cid, task in tasks]
        self.vocabulary = set().union(*(c for _, c in self.content), *(c for *_, c in self.task_content))
        # content word -> targets (gold questions, then tasks) and how many shared words each needs
        targets = [words for _, words in self.content] + [words for *_, words in self.task_content]
        self.idf = _idf(targets)
        # (a question or task of one content word needs that word: a line sharing nothing cannot be its paraphrase)
        self._needed = [min(MIN_SHARED_WORDS, len(w)) for _, w in self.content] + \
                       [max(min(MIN_SHARED_WORDS, len(w)), len(w) - 1) for *_, w in self.task_content]
        # a tiny slack so that a line carrying exactly the share passes whatever the summation order
        self._needed_mass = [SHARE_OF_QUESTION * sum(self.idf[w] for w in words) - 1e-9 for _, words in self.content] + \
                            [0.0 for _ in self.task_content]
        self._postings: dict[str, list[int]] = {}
        for number, words in enumerate(targets):
            for word in words:
                self._postings.setdefault(word, []).append(number)
        self._semantic_cache: dict[str, tuple[float, int, float, int]] = {}
        self._vectors = None

    @classmethod
    def from_ruler(cls, ruler_dir: Path) -> "GoldIndex":
        golds, tasks = [], []
        for name in ("tasks.jsonl", "holdout.jsonl"):
            path = Path(ruler_dir) / name
            if path.exists():
                for case in load_cases(path):
                    golds.append((case.id, "title", case.gold.title))
                    golds += [(case.id, "question", q) for q in case.gold.questions]
                    tasks.append((case.id, case.task))
        return cls(golds, tasks)

    # --- lexical --------------------------------------------------------------------------------
    def lexical_hits(self, text: str, squeezed: bytes | None = None) -> list[Hit]:
        """Gold and tasks in `text` (`squeezed`: its `squeeze_bytes`, when the caller has it already)."""
        squeezed = squeeze_bytes(text) if squeezed is None else squeezed
        present = set(self._present_hashes(squeezed).tolist())
        hits: list[Hit] = []
        whole_by_case: dict[str, list[str]] = {}
        sharing = sorted({n for h in present for n in self._golds_by_hash.get(h, ())})
        for gold in (self.golds[n] for n in sharing):  # a gold sharing no window with the text cannot match
            flags = np.fromiter((h in present for h in gold.hash_list), dtype=bool, count=len(gold.hash_list))
            if not flags.any():
                continue
            if flags.all() and gold.squeezed in squeezed:
                if gold.kind == "question" and len(gold.squeezed) >= WHOLE_MIN_CHARS:
                    hits.append(Hit("a whole gold question", gold.case_id, gold.text))
                    continue
                if len(gold.squeezed) >= CASE_MIN_CHARS:
                    whole_by_case.setdefault(gold.case_id, []).append(gold.text)
            run = _longest_true_run(flags) + WINDOW - 1
            if run >= RUN_CHARS:
                stretch = self._confirmed_stretch(gold, flags, squeezed)
                if stretch:
                    hits.append(Hit(f"{len(stretch)} consecutive characters of a gold {gold.kind}", gold.case_id,
                                    gold.text))
        for case_id, texts in whole_by_case.items():
            if len(texts) >= CASE_QUESTIONS:
                hits.append(Hit(f"{len(texts)} whole gold questions or titles of one case", case_id, texts[0]))
        hits += self.task_hits(text, squeezed, present)
        return hits

    def task_hits(self, text: str, squeezed: bytes, present: set[int]) -> list[Hit]:
        """Tasks named in `text`; `present`: the text's window hashes among the index's (`_present_hashes`)."""
        spaced = None
        hits = []
        sharing = {n for h in present for n in self._tasks_by_hash.get(h, ())}
        for number in sorted(sharing.union(self._short_tasks)):
            case_id, phrase, task_squeezed = self.task_phrases[number]
            if not all(h in present for h in self._task_windows[number]):
                continue
            if task_squeezed and task_squeezed in squeezed:
                spaced = spaced if spaced is not None else " " + normalise(text) + " "
                if phrase in spaced:
                    hits.append(Hit("names a ruler/holdout task", case_id, phrase.strip()))
        return hits

    def _present_hashes(self, squeezed: bytes) -> np.ndarray:
        """The text's window hashes that are gold window hashes (sorted, distinct)."""
        found = []
        gold = self.gold_hashes  # sorted (np.unique): a binary search per window, no per-call sort
        if not len(gold) or len(squeezed) < WINDOW:
            return np.zeros(0, dtype=np.uint64)
        for start in range(0, len(squeezed), CHUNK):
            piece = squeezed[start:start + CHUNK + WINDOW - 1]
            hashes = _window_hashes(piece, WINDOW)
            hashes = hashes[self._gold_bits[(hashes & _BUCKET_MASK).astype(np.intp)]]
            if hashes.size:
                at = np.minimum(np.searchsorted(gold, hashes), len(gold) - 1)
                found.append(hashes[gold[at] == hashes])
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint64)

    @staticmethod
    def _confirmed_stretch(gold: GoldText, flags: np.ndarray, squeezed: bytes) -> bytes | None:
        """The longest stretch of the gold present contiguously in the text (window hits can be scattered)."""
        best = None
        i = 0
        while i < len(flags):
            if not flags[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(flags) and flags[j + 1]:
                j += 1
            stretch = gold.squeezed[i:j + WINDOW]
            if len(stretch) >= RUN_CHARS and stretch in squeezed and (best is None or len(stretch) > len(best)):
                best = stretch
            i = j + 1
        return best

    # --- semantic -------------------------------------------------------------------------------
    def candidate_lines(self, lines: list[str]) -> list[str]:
        """Distinct lines worth embedding: enough words, and content words shared with a gold question/task."""
        chosen = []
        seen = set()
        for line in lines:
            norm = normalise(line)
            if not norm or norm in seen:
                continue
            seen.add(norm)
            tokens = norm.split()
            if not MIN_LINE_WORDS <= len(tokens) <= MAX_LINE_WORDS:
                continue
            shared = [w for w in set(tokens) if w in self._postings]
            if not shared:
                continue
            counts: dict[int, int] = {}
            mass: dict[int, float] = {}
            for word in shared:
                for target in self._postings[word]:
                    counts[target] = counts.get(target, 0) + 1
                    mass[target] = mass.get(target, 0.0) + self.idf[word]
            if any(n >= self._needed[t] and mass[t] >= self._needed_mass[t] for t, n in counts.items()):
                chosen.append(norm)
        return chosen

    def semantic_scores(self, lines: list[str], embedder) -> dict[str, tuple[float, int, float, int]]:
        """line -> (best cosine to a gold question, its index, best cosine to a task, its index)."""
        from loop.embedder import cosine_matrix

        todo = [line for line in lines if line not in self._semantic_cache]
        if todo:
            if self._vectors is None:  # on the bulk path too (batched: a third of the one-by-one time, cold)
                tasks = [t for _, t in self.tasks]
                self._vectors = (embedder.embed_uncached(self.questions), embedder.embed_uncached(tasks))
            for start in range(0, len(todo), 256):
                batch = todo[start:start + 256]
                vectors = embedder.embed_uncached(batch)
                to_gold = cosine_matrix(vectors, self._vectors[0])
                to_task = cosine_matrix(vectors, self._vectors[1])
                for line, g_row, t_row in zip(batch, to_gold, to_task):
                    self._semantic_cache[line] = (float(g_row.max()) if g_row.size else 0.0, int(g_row.argmax()) if g_row.size else 0,
                                                  float(t_row.max()) if t_row.size else 0.0, int(t_row.argmax()) if t_row.size else 0)
        return {line: self._semantic_cache[line] for line in lines}


def _idf(targets: list[set[str]]) -> dict[str, float]:
    """log(N / df) of every content word over the targets (a word in every target weighs 0)."""
    df = Counter(word for words in targets for word in words)
    return {word: math.log(len(targets) / n) for word, n in df.items()}


def _content_words(text: str) -> set[str]:
    return set(normalise(text).split()) - STOPWORDS


def _longest_true_run(flags: np.ndarray) -> int:
    if not flags.any():
        return 0
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


SPLIT_LINES = re.compile(r"[\n\r]+|(?<=[?!.])\s+|\"\s*,\s*\"")
