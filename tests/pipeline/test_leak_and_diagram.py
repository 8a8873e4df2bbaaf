"""Gold-leak detection and the trace diagram."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from loop.sandbox.leak import gold_leak, ngram_overlap
from loop.schemas import Answer
from loop.trace_diagram import trace_to_svg

GOLD = Answer(title="Paris trip", questions=[
    "Which city will you be flying from?", "How many people are travelling, and are any of them children?",
    "What dates are you considering for the trip?", "What is your total budget for the trip?",
    "What kind of experiences matter most to you in Paris?", "Do you have any mobility or dietary needs?",
    "Where would you prefer to stay: a hotel, an apartment, or something else?"])
HONEST = Answer(title="Trip to Paris", questions=[
    "What is your budget?", "When are you going?", "Is this your first time in France?",
    "Do you speak any French?", "Do you want to visit museums?", "Will you rent a car?",
    "Do you need a guide?"])


def test_copied_gold_is_flagged_even_with_small_edits():
    copied = Answer(title="x", questions=[q.replace("?", " ?").upper() for q in GOLD.questions[:4]]
                    + ["Anything else?", "Other?", "More?"])
    reason = gold_leak(copied, GOLD)
    assert reason and reason.startswith("4 of 7 questions copy the gold")


def test_a_lightly_reworded_copy_is_flagged_by_its_surface():
    paraphrase = Answer(title="x", questions=[
        "Which city are you flying from?", "How many people are travelling, and are any children?",
        "Which dates are you considering for the trip?", "What is the total budget for your trip?",
        "Any mobility or dietary needs?", "Anything else?", "Other?"])
    assert gold_leak(paraphrase, GOLD)


def test_honest_answer_is_not_flagged():
    assert gold_leak(HONEST, GOLD) is False
    two_generic = Answer(title="x", questions=GOLD.questions[:2] + HONEST.questions[2:])
    assert gold_leak(two_generic, GOLD) is False  # a couple of matches happen honestly


def test_ngram_overlap():
    assert ngram_overlap("What is your total budget?", "what is your total budget") == 1.0
    assert ngram_overlap("What is your budget?", "Who is coming along?") == 0.0


TRACE = [
    {"kind": "step", "label": "retrieve examples", "latency_ms": 3.2, "detail": {"k": 2}},
    {"kind": "model", "label": "draft", "input_tokens": 120, "output_tokens": 95, "latency_ms": 1800.0,
     "ok": True, "schema": True, "sampling": {"mode": "greedy"}},
    {"kind": "adapter", "label": "revise <with> & adapter", "input_tokens": 200, "output_tokens": 90,
     "latency_ms": 2100.0, "ok": True, "schema": True, "sampling": {"mode": "random", "temperature": 0.7}},
    {"kind": "step", "label": "prune", "latency_ms": 1.0, "detail": {}},
]


def test_svg_is_valid_xml_and_distinguishes_the_three_kinds():
    svg = trace_to_svg(TRACE, 'Plan a "trip" to Paris & more')
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    groups = {g.get("class"): g for g in root.iter(f"{ns}g") if g.get("class") in ("model", "adapter", "step")}
    assert set(groups) == {"model", "adapter", "step"}
    styles = {kind: (g.find(f"{ns}rect").get("fill"), g.find(f"{ns}rect").get("stroke")) for kind, g in groups.items()}
    assert len(set(styles.values())) == 3, styles
    text = " ".join(t.text or "" for t in root.iter(f"{ns}text"))
    assert "120 → 95 tok" in text and "1,800 ms" in text and "revise <with> & adapter" in text
    assert "model call" in text and "adapter call" in text and "deterministic step" in text  # legend
    boxes = [g for g in root.iter(f"{ns}g") if g.get("class") in ("model", "adapter", "step")]
    assert len(boxes) == 4 and len(list(root.iter(f"{ns}line"))) == 3  # arrows between boxes in order


def test_empty_trace_still_draws():
    ET.fromstring(trace_to_svg([], "nothing"))


def test_the_cheap_bound_never_hides_an_edit_similarity_copy():
    """`ratio_bound` skips difflib's ratio() only where ratio() could not reach the threshold."""
    import random
    from difflib import SequenceMatcher

    from loop.sandbox.leak import _Folded, ratio_bound

    rng = random.Random(7)
    words = "what when where who how many your trip budget dates kids city plan paris the a of to in".split()
    for _ in range(2000):
        a, b = (" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(2))
        fa, fb = _Folded(a), _Folded(b)
        matcher = SequenceMatcher(None, fa.norm, fb.norm, autojunk=False)
        assert ratio_bound(fa, fb) == pytest.approx(matcher.quick_ratio())
        assert matcher.ratio() <= ratio_bound(fa, fb) + 1e-12
