"""Form rules of proxy v2 over a whole set (pure string checks, no model).

Naturalness is v1's per-question form check (`proxy_rules.naturalness`) less two set-level faults a
per-question check cannot see:
- a repeated frame: the same run of words with two or more content words (or the same four-word
  opening in three or more questions) pasted into several questions, as templates do;
- a task echo: the task string pasted verbatim into a question ("... for plan a trip to paris?").

Part of proxy v2's identity: its judge id carries a hash of this file.
"""

from __future__ import annotations

from loop.judges.proxy_rules import naturalness as form_naturalness
from loop.judges.proxy_v2_text import STOPWORDS, echo_run, words

FRAME_RUN = 3  # words in a shared run
FRAME_CONTENT = 2  # content words a shared run needs to count as a frame
OPENING = 4  # words of a shared opening
OPENING_SHARED_BY = 3  # questions sharing that opening before it counts as a frame
FRAME_PENALTY = 0.25
ECHO_PENALTY = 0.25


def _runs(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def framed(questions: list[str]) -> list[bool]:
    """Per question: does it share a template frame with other questions of the set?"""
    tokens = [words(q) for q in questions]
    runs = [{r for r in _runs(t, FRAME_RUN) if sum(w not in STOPWORDS for w in r) >= FRAME_CONTENT} for t in tokens]
    openings = [tuple(t[:OPENING]) if len(t) > OPENING else None for t in tokens]
    out = []
    for i in range(len(questions)):
        shares_run = any(runs[i] & runs[j] for j in range(len(questions)) if j != i)
        shares_opening = openings[i] is not None and sum(o == openings[i] for o in openings) >= OPENING_SHARED_BY
        out.append(shares_run or shares_opening)
    return out


def naturalness_per_question(questions: list[str], task: str) -> list[float]:
    frames = framed(questions)
    scores = []
    for question, in_frame in zip(questions, frames):
        score = form_naturalness(question)
        if in_frame:
            score -= FRAME_PENALTY
        if echo_run(question, task):
            score -= ECHO_PENALTY
        scores.append(max(0.0, score))
    return scores
