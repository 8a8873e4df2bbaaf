"""Text handling of proxy v2: one preparation step for every text, words, and the task's own words.

Every text proxy v2 reads (task, gold, candidate) goes through `_prepare` exactly once, so a judge
rule never sees two spellings of the same thing. `_prepare` is the shared normaliser's
`loop.textnorm.fold` (look-alike letters as ASCII, zero-width and control characters out), so a
disguise of a template is judged as the template it spells; words are tokens whatever separates them
(spaces, dots), as the embedder reads them.

Part of proxy v2's identity: its judge id carries a hash of this file.
"""

from __future__ import annotations

import re
import unicodedata

from loop.textnorm import fold

_INVISIBLE = re.compile(r"[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u00ad]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z]+)?|[^\sA-Za-z0-9]")

# function words: never "content", never a frame by themselves
STOPWORDS = frozenset("""
a an the and or but if of to in on at for from by with about into over under as than then so
is are was were be been being am do does did doing have has had having will would can could should
shall may might must i you your yours we our ours they their them he she his her it its this that
these those there here what which who whom whose when where why how any some all each every no not
my me mine up out off more most much many such very just also too own other another one ones
like want wants get got make let s re ll ve d t don't it's you're i'm what's
""".split())


def _prepare(text: str) -> str:
    """The one normalisation every text passes: the shared normaliser's `fold` (NFKC, zero-width and
    control characters out, look-alike letters of other scripts as ASCII), whitespace collapsed."""
    text = fold(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text or "")))
    text = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()


def words(text: str) -> list[str]:
    """Lower-cased word tokens of an already prepared text."""
    return _WORD.findall(text.lower())


def _tokens(text: str) -> list[str]:
    """Word tokens and single punctuation marks, whatever separates them ("BUY.A.USED.CAR" is four
    words, as the embedder's own tokenizer reads it)."""
    return _TOKEN.findall(text)


def stem(word: str) -> str:
    """A crude stem so that 'trip'/'trips', 'plan'/'planning' meet (good enough for overlap counts)."""
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS]


def mask_task_words(text: str, task_stems: frozenset[str]) -> str:
    """The text with every word of the task removed: what the question asks beyond naming the task.
    A question that is only the task's words plus a frame shrinks to its frame."""
    kept = [w for w in _tokens(text) if stem(w.lower()) not in task_stems]
    return " ".join(kept) or "?"


def _pasted(tokens: list[str], task: str, length: int) -> set[int]:
    """Positions of `tokens` (lower-cased words) inside a verbatim run of `length`+ task words."""
    t = words(task)
    runs = {tuple(t[i:i + length]) for i in range(len(t) - length + 1)}
    drop: set[int] = set()
    for i in range(len(tokens) - length + 1):
        if tuple(tokens[i:i + length]) in runs:
            drop.update(range(i, i + length))
    return drop


def unpasted(text: str, task: str, length: int = 3) -> str:
    """The text (its own spelling kept) without any verbatim run of `length`+ task words: what is left
    of a question once a pasted task string is taken out ("What is the budget for plan a trip to
    paris?" -> "What is the budget for?"). A question made only of the task leaves "?"."""
    tokens = _tokens(text)
    at = [i for i, tok in enumerate(tokens) if _WORD.fullmatch(tok.lower())]  # word tokens, punctuation between
    drop = {at[i] for i in _pasted([tokens[i].lower() for i in at], task, length)}
    if not drop:
        return text
    kept = " ".join(tok for i, tok in enumerate(tokens) if i not in drop).strip()
    return (kept.rstrip("?:,;. ") + "?") if kept else "?"


def strip_echo(text: str, task: str, length: int = 3) -> str:
    """`unpasted` over lower-cased words (no punctuation): two questions that share only the pasted
    task are not thereby the same question."""
    tokens = words(text)
    drop = _pasted(tokens, task, length)
    return " ".join(w for i, w in enumerate(tokens) if i not in drop) or "?"


def echo_run(question: str, task: str, length: int = 3) -> bool:
    """True when the question repeats `length`+ consecutive words of the task verbatim (an echo of
    the task string, as templates do: "What is the budget for plan a trip to paris?")."""
    q, t = words(question), words(task)
    if len(t) < length:
        return len(t) >= 2 and _contains(q, t)
    return any(_contains(q, t[i:i + length]) for i in range(len(t) - length + 1))


def _contains(seq: list[str], part: list[str]) -> bool:
    n = len(part)
    return any(seq[i:i + n] == part for i in range(len(seq) - n + 1))
