"""The semantic check's lexical screen (`GoldIndex.candidate_lines`: which lines are worth embedding) keeps
every line the embedding check would flag: shared words are weighed by how informative they are (IDF over
the ruler's and holdout's gold questions and tasks), so a paraphrase keeping only a question's rare words
is still embedded and caught, and on random honest text with planted gold the screened scan finds exactly
what embedding every line finds."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from loop.daemon.guard import GoldIndex, default_embedder, scan_workspace
from loop.daemon.guard_gold import MAX_LINE_WORDS, MIN_LINE_WORDS
from loop.textnorm import normalise

REPO = Path(__file__).resolve().parents[2]
HOSTING = "How much are you willing to spend each year on hosting and tools?"  # a gold question of r08
# plain words of pipeline prompts (the kind of text an honest edit adds), and the two common words of a gold
# question ("How much time can you dedicate each week?") that used to make thousands of lines candidates
HONEST = ("keep each question short and concrete ask about one unknown at a time prefer plain words avoid yes "
          "or no questions when an open one helps order from most to least decision critical the user goal "
          "first then constraints list every assumption you make state what you will not cover write numbered "
          "questions only no preamble").split()
SWAPS = (("each", "every"), ("how much", "roughly how much"), ("what", "which"), ("your", "the"),
         ("can you", "could you"), ("?", ""), ("the ", "this "), ("month", "monthly"), ("year", "yearly"))


@pytest.fixture(scope="module")
def embedder():
    found = default_embedder()
    if found is None:
        pytest.skip(reason="the MiniLM model is not fetched (`autoresearch models fetch --model minilm`)")
    return found


def shipped_index() -> GoldIndex:
    return GoldIndex.from_ruler(REPO / "ruler")  # a fresh index: its per-line score cache starts empty


def test_a_paraphrase_keeping_only_the_informative_words_is_embedded_and_caught(tmp_path, embedder):
    index = shipped_index()
    assert HOSTING in index.questions
    content = dict((g.text, words) for g, words in index.content)[HOSTING]
    line = "How much are you willing to pay yearly for hosting and tools?"
    shared = set(normalise(line).split()) & content
    dropped = content - shared
    assert shared == {"willing", "hosting", "tools"} and dropped == {"each", "spend", "year"}
    assert min(index.idf[w] for w in shared) > max(index.idf[w] for w in dropped)  # only the rare words kept
    (tmp_path / "notes.md").write_text(f"Style notes.\n{line}\n")
    assert scan_workspace(tmp_path, index, None).findings == []  # no surface copy: only the embedding sees it
    findings = scan_workspace(tmp_path, index, embedder).findings
    assert len(findings) == 1 and "notes.md:2" in findings[0].message and "paraphrase" in findings[0].message


def test_common_words_shared_with_a_question_do_not_make_a_line_a_candidate():
    index = shipped_index()
    common = "keep each question short and ask about one unknown at a time"  # "each", "time" of an h15 question
    rare = "keep each question short and ask how much time you can dedicate"  # "dedicate" too
    assert index.candidate_lines([common, rare]) == [normalise(rare)]


def _planted(index: GoldIndex, rng: random.Random) -> str:
    """A gold question or task, lightly disguised (swapped words, one word dropped, a prompt word added)."""
    text = rng.choice(index.questions + [t for _, t in index.tasks])
    for old, new in rng.sample(SWAPS, 3):
        text = text.replace(old, new, 1)
    words = text.split()
    if len(words) > 5 and rng.random() < 0.5:
        del words[rng.randrange(len(words))]
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words) + 1), rng.choice(HONEST))
    return " ".join(words)


def _honest(index: GoldIndex, rng: random.Random) -> str:
    """Prompt words, sometimes with a few words of the gold vocabulary mixed in (common ones most often)."""
    vocabulary = sorted(index.vocabulary, key=lambda w: index.idf[w])
    words = rng.choices(HONEST, k=rng.randint(4, 14))
    for _ in range(rng.choice((0, 1, 2, 3))):
        words.insert(rng.randrange(len(words) + 1), vocabulary[int(rng.random() ** 3 * len(vocabulary))])
    return " ".join(words)


def _every_line(self: GoldIndex, lines: list[str]) -> list[str]:
    """No lexical screen: every distinct normalised line is embedded. Only the length bounds stay (a line of
    one or two words is left to the lexical checks, which read task names as phrases)."""
    return list(dict.fromkeys(n for n in map(normalise, lines) if MIN_LINE_WORDS <= len(n.split()) <= MAX_LINE_WORDS))


def test_the_screened_scan_finds_what_embedding_every_line_finds(tmp_path, embedder, monkeypatch):
    rng = random.Random(15)
    probe = shipped_index()
    lines = [_planted(probe, rng) for _ in range(150)] + [_honest(probe, rng) for _ in range(350)]
    rng.shuffle(lines)
    for number, line in enumerate(lines):  # one line per file: a finding names its file, so line by line
        (tmp_path / f"n{number:03d}.md").write_text(line + "\n")
    candidates = probe.candidate_lines(lines)
    screened = scan_workspace(tmp_path, shipped_index(), embedder).findings
    monkeypatch.setattr(GoldIndex, "candidate_lines", _every_line)
    unscreened = scan_workspace(tmp_path, shipped_index(), embedder).findings
    assert len(unscreened) >= 40  # the planted gold is caught (the comparison is not between two empty lists)
    assert len(candidates) < 0.7 * len(set(map(normalise, lines)))  # and the screen did skip lines
    assert sorted(f.model_dump_json() for f in screened) == sorted(f.model_dump_json() for f in unscreened)
