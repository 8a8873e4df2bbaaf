"""Gold-leak detection on outputs, independent of the sandbox: is a candidate a surface copy of the gold?

Surface, not meaning: honest good answers are semantically close to the gold by design, so closeness
of meaning proves nothing; copying shows in the letters. Every text first goes through
`loop.textnorm` (NFKC, look-alikes of other scripts, zero-width and control characters, case,
punctuation), so a disguised copy compares as the copy it is. A candidate question copies a gold
question when, after folding, any of:
- it is equal (spaces ignored: "W h a t" = "What");
- its character 5-grams (spaces removed) overlap the gold question's with Dice >= `threshold`;
- their edit-distance similarity (difflib ratio over the normalised words) is >= `threshold`;
- its word trigrams are contained in the gold question's (or the other way) at >= `threshold`.
A candidate leaks when at least `min_copies` of its questions copy some gold question (default 3 of 7:
one or two short generic matches such as "How old are your kids?" happen honestly), or when its seven
questions taken together reproduce the gold's characters (Dice of character 8-grams >= `ANSWER_DICE`,
which catches gold reshuffled across question boundaries).
"""

from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher
from functools import lru_cache

from loop.schemas import Answer
from loop.textnorm import char_grams, normalise, word_grams

THRESHOLD = 0.8
MIN_COPIES = 3
ANSWER_DICE = 0.6


def dice(a: set, b: set) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _word_ngrams(words: list[str], n: int) -> set:
    return word_grams(words, n) if len(words) >= n else ({tuple(words)} if words else set())


def ngram_overlap(a: str, b: str, n: int = 3) -> float:
    """Share of the shorter text's normalised word n-grams found in the other (containment), 0..1."""
    return _containment(_word_ngrams(normalise(a).split(), n), _word_ngrams(normalise(b).split(), n))


def _containment(grams_a: set, grams_b: set) -> float:
    if not grams_a or not grams_b:
        return 0.0
    return len(grams_a & grams_b) / min(len(grams_a), len(grams_b))


class _Folded:
    __slots__ = ("norm", "squeezed", "grams", "letters", "words", "trigrams")

    def __init__(self, text: str):
        self.norm = normalise(text)
        self.squeezed = self.norm.replace(" ", "")
        self.grams = char_grams(self.squeezed, 5)
        self.letters = Counter(self.norm)
        self.words = len(self.norm.split())
        self.trigrams = _word_ngrams(self.norm.split(), 3)


@lru_cache(maxsize=1024)
def folded_gold(text: str) -> _Folded:
    """A gold question folded once: it is compared with every candidate's questions (the ruler's and the
    holdout's ~350 gold questions fit; candidates are folded afresh, they rarely repeat)."""
    return _Folded(text)


def ratio_bound(a: _Folded, b: _Folded) -> float:
    """difflib's `quick_ratio` (shared characters as multisets): `SequenceMatcher.ratio()` never exceeds it."""
    total = len(a.norm) + len(b.norm)
    if not total:
        return 1.0
    other = b.letters
    return 2 * sum(min(count, other[ch]) for ch, count in a.letters.items() if ch in other) / total


def copy_kind(question: _Folded, gold: _Folded, raw_q: str, raw_g: str, threshold: float) -> str | None:
    if not question.squeezed or not gold.squeezed:
        return None
    if question.squeezed == gold.squeezed:
        return "identical after folding"
    char_dice = dice(question.grams, gold.grams)
    if char_dice >= threshold:
        return f"character 5-grams {char_dice:.2f}"
    if ratio_bound(question, gold) >= threshold:  # an upper bound of ratio(): rules out ~99 % of pairs cheaply
        ratio = SequenceMatcher(None, question.norm, gold.norm, autojunk=False).ratio()
        if ratio >= threshold:
            return f"edit similarity {ratio:.2f}"
    if min(question.words, gold.words) >= 4 and _containment(question.trigrams, gold.trigrams) >= max(threshold, 0.9):
        return "word trigrams"
    return None


def copied_questions(candidate: Answer, gold: Answer, threshold: float = THRESHOLD) -> list[tuple[int, int, str]]:
    """(candidate index, gold index, how) for each candidate question that copies a gold question."""
    gold_qs = [(q, folded_gold(q)) for q in gold.questions if q.strip()]
    found = []
    for i, question in enumerate(candidate.questions):
        if not question.strip():
            continue
        mine = _Folded(question)
        for j, (raw_g, gold_f) in enumerate(gold_qs):
            how = copy_kind(mine, gold_f, question, raw_g, threshold)
            if how:
                found.append((i, j, how))
                break
    return found


def answer_dice(candidate: Answer, gold: Answer) -> float:
    """Character 8-gram Dice of all questions together (order and question boundaries ignored)."""
    cand = set().union(*(char_grams(_Folded(q).squeezed, 8) for q in candidate.questions)) if candidate.questions else set()
    gold_g = set().union(*(char_grams(folded_gold(q).squeezed, 8) for q in gold.questions)) if gold.questions else set()
    return dice(cand, gold_g)


def gold_leak(candidate: Answer, gold: Answer, threshold: float = THRESHOLD, *,
              min_copies: int = MIN_COPIES) -> bool | str:
    """False, or a reason naming how many questions copy the gold and how."""
    found = copied_questions(candidate, gold, threshold)
    if len(found) >= min_copies:
        how = ", ".join(f"q{i + 1}~gold q{j + 1} ({kind})" for i, j, kind in found[:7])
        return f"{len(found)} of {len(candidate.questions)} questions copy the gold: {how}"
    together = answer_dice(candidate, gold)
    if together >= ANSWER_DICE:
        return f"the questions together reproduce the gold's text (character 8-gram Dice {together:.2f})"
    return False
