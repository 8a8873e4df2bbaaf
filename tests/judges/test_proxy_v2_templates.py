"""Proxy v2 against template echoes (issue 12, "clearly below"): on the stored full-gate candidates of the
shipped workspace (tests/support/data/full_gate_candidates.json, captured once from `bench judges`), the
replay runner's template answers score at least 0.05 quality below the real Qwen2.5-1.5B baseline, on
the full gate and on its dev subset; a template family of our own (not the replay runner's strings)
scores below an honest set written independently; and disguising a template's text gains it nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from loop.judges.proxy_v2 import ProxyV2Judge
from loop.schemas import Answer
from tests.support.gate_candidates import gate_quality as stored_gate_quality
from tests.support.judge_ladders import ladders
from ruler.scoring import pairwise_score, rubric_score

CLEARLY_BELOW = 0.05  # issue 12's decision
ASPECTS = ("budget", "timeline", "people involved", "main goal", "constraints", "past attempts", "biggest risk")


def contribution(judgement) -> float:
    return 0.5 * pairwise_score(judgement.verdict) + 0.5 * rubric_score(judgement.dims)


def tell_me_about(task: str) -> Answer:
    """A template family of our own: one frame, an aspect word and the task string pasted into each."""
    return Answer(title=task, questions=[f"Could you tell me about the {a} for {task.lower()}?" for a in ASPECTS])


@pytest.fixture(scope="module")
def judge() -> ProxyV2Judge:
    return ProxyV2Judge()


@pytest.fixture(scope="module")
def gate_quality(judge) -> dict[str, dict[str, float]]:
    return stored_gate_quality(judge)


@pytest.mark.parametrize("gate", ["full", "dev"])
def test_template_answers_score_clearly_below_the_real_baseline(gate_quality, gate):
    q = gate_quality[gate]
    assert q["baseline"] - q["replay"] >= CLEARLY_BELOW, q


def test_a_template_family_of_our_own_scores_below_an_honest_independent_set(judge):
    for ladder in ladders():
        template = judge.judge(ladder.case, tell_me_about(ladder.case.task))
        honest = judge.judge(ladder.case, ladder.sets["independent"])
        generic = judge.judge(ladder.case, ladder.sets["generic"])
        assert contribution(template) < contribution(honest), (ladder.case.task, template, honest)
        assert contribution(template) <= contribution(generic), (ladder.case.task, template, generic)
        assert template.dims.specificity <= 2 and template.dims.naturalness <= 3, (ladder.case.task, template.dims)


def _attack_kit():
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "attacks" / "kit.py"  # conftest-loaded there, not importable
    spec = importlib.util.spec_from_file_location("attack_kit_for_templates", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


KIT = _attack_kit()
# disguises that spell the same words: the judge must read them as the plain text (one normaliser)
SAME_WORDS = ("look-alike letters (Cyrillic)", "zero-width characters", "mixed scripts (Cyrillic/Greek/fullwidth/math)",
              "no-break spaces and soft hyphens", "combining accents")


@pytest.mark.parametrize("disguise", sorted(KIT.DISGUISES))
def test_a_disguised_template_gains_nothing(judge, disguise):
    change = KIT.DISGUISES[disguise]
    for ladder in ladders()[:2]:
        plain = tell_me_about(ladder.case.task)
        disguised = Answer(title=plain.title, questions=[change(q) for q in plain.questions])
        seen, clean = judge.judge(ladder.case, disguised), judge.judge(ladder.case, plain)
        if disguise in SAME_WORDS:
            assert (seen.dims, seen.verdict) == (clean.dims, clean.verdict), (disguise, ladder.case.task, seen)
        else:
            assert contribution(seen) <= contribution(clean), (disguise, ladder.case.task, seen, clean)
