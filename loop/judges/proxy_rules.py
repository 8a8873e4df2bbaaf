"""Form rules of the proxy judge (pure string checks, no model): atomicity, naturalness, topic kinds.

Every rule reads the question through `loop.textnorm.fold` (the one normaliser: NFKC, zero-width and
control characters out, look-alike letters of other scripts as ASCII; case and punctuation kept), so a
zero-width space after every space or a Cyrillic "а" cannot turn a compound question "atomic".

Part of the proxy's identity: its judge id carries a hash of this file, so changing a rule changes the ruler id.
"""

from __future__ import annotations

import math
import re

from loop.textnorm import fold

GENERIC_QUESTIONS = (  # generic planning questions (v2 adds more of its own)
    "What is your budget?", "When do you need this done?", "What are your goals?",
    "Do you have any preferences?", "Is there anything else I should know?", "What is the timeline?",
    "Who is involved?", "How much time do you have?", "What does success look like?",
    "Are there any constraints?", "What have you tried so far?", "What is your experience level?",
)


def to_dim(x: float) -> int:
    """0..1 -> 1..5 (half rounds up, never banker's rounding)."""
    return int(min(5, max(1, math.floor(1 + 4 * min(1.0, max(0.0, x)) + 0.5))))


INTERROGATIVES = (
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how",
    "do", "does", "did", "is", "are", "was", "were", "will", "would", "can", "could", "should",
    "shall", "may", "might", "have", "has", "had", "am", "any", "roughly", "approximately",
)
_SECOND_ASK = re.compile(
    r"(?:\band\b|\bor\b|;|,)\s+(?:also\s+)?(?:what|which|who|when|where|why|how|do|does|did|is|are|will|would|"
    r"can|could|should|have|has)\b",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"^\s*(?:\d+\s*[.)]|[-*•·]|\(?[a-g]\)|q\d+[:.])\s*", re.IGNORECASE)
MAX_WORDS = 25
MIN_WORDS = 3

# Kinds of unknowns, for failure notes that name what is missing without quoting gold text.
TOPIC_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("budget/cost", ("budget", "cost", "price", "spend", "afford", "money", "pay", "$", "expens", "cheap")),
    ("timing/dates", ("when", "date", "deadline", "timeline", "schedule", "week", "month", "season", "how long", "time")),
    ("people/audience", ("who", "people", "guest", "audience", "team", "kids", "child", "family", "group", "partner")),
    ("place/location", ("where", "location", "city", "venue", "room", "space", "country", "travel", "live")),
    ("scale/quantity", ("how many", "how much", "size", "number", "amount", "big", "large")),
    ("constraints/requirements", ("must", "need", "require", "restrict", "allerg", "limit", "accessib", "rule", "avoid")),
    ("preferences/style", ("prefer", "like", "style", "favo", "vibe", "want", "hope", "excited", "taste")),
    ("goals/success", ("goal", "purpose", "why", "success", "outcome", "achieve", "aim")),
    ("experience/skill", ("experience", "skill", "level", "familiar", "before", "comfortable", "beginner")),
    ("resources/equipment", ("equipment", "tool", "have access", "own", "already have", "gear", "software")),
)


def is_atomic(question: str) -> float:
    """1.0 for one ask, 0.0 for an evident compound, 0.5 for an over-long single ask."""
    q = fold(question).strip()
    if q.count("?") > 1 or _SECOND_ASK.search(q):
        return 0.0
    return 0.5 if len(q.split()) > MAX_WORDS else 1.0


def naturalness(question: str) -> float:
    """Share of four form checks passed: ends with '?', opens like a question, sane length, no list marker."""
    q = fold(question).strip()
    words = q.split()
    first = re.sub(r"[^a-z]", "", words[0].lower()) if words else ""
    checks = (
        q.endswith("?"),
        first in INTERROGATIVES or (len(words) > 1 and words[0].endswith(",")),
        MIN_WORDS <= len(words) <= MAX_WORDS,
        not _LIST_MARKER.match(q) and not q.isupper(),
    )
    return sum(checks) / len(checks)


def topic_kind(question: str) -> str:
    """The first matching kind of unknown a question asks about, else "other"."""
    text = fold(question).lower()
    for kind, cues in TOPIC_KINDS:
        if any(cue in text for cue in cues):
            return kind
    return "other"
